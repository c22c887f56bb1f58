#!/usr/bin/env bash
# Runs every test stackwatch has, on a fresh machine with only Rust and Python 3: it installs
# what the tests need first (the pinned moto server in target/moto-venv), then the tests, each
# of which starts its own moto on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/moto-venv.sh >/dev/null
cargo test --locked --all-targets
cargo test --locked --doc
