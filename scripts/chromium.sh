#!/usr/bin/env bash
# Installs Debian's chromium for the browser check of the HTML report (tests/browser.rs), when
# it is missing and this machine can install it (root and apt-get). Elsewhere it says so and
# the test skips itself, except under CI=true, where the test fails instead.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the HTML report's browser check" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
else
    echo "note: chromium is not installed and cannot be here (needs root and apt-get);" \
        "the browser check will be skipped (it fails under CI=true)" >&2
fi
