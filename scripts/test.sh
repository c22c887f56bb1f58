#!/usr/bin/env bash
# Runs every test stackwatch has, on a fresh machine with only Rust and Python 3: it installs
# what the tests need first (the pinned moto server in target/moto-venv, Debian's chromium for
# the HTML report's browser check), then the tests, each of which starts its own moto on a
# free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/moto-venv.sh >/dev/null
./scripts/chromium.sh
cargo test --locked --all-targets
cargo test --locked --doc
