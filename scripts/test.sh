#!/usr/bin/env bash
# Runs every test stackwatch has, on a fresh machine with only Rust and Python 3.
# (The moto server and Chromium installs join here when the live sources and reports land.)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked --all-targets
cargo test --locked --doc
