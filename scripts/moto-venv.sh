#!/usr/bin/env bash
# Creates (or reuses) the Python venv with the moto server for the live-source tests:
#   target/moto-venv, with tests/moto/requirements.txt installed.
# Idempotent: a stamp holding the hash of the requirements and of the Python version skips the
# install when nothing changed. Safe to run from several test processes at once (flock).
# Prints the venv's python path as its last line of stdout; progress goes to stderr.
#
# Needs python3 (>= 3.9) and network access to PyPI for the first install only.
# Env: PYTHON (default python3) picks the interpreter;
#      MOTO_VENV_NO_ENSUREPIP=1 forces the fallback paths below (to test them).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
venv="$root/target/moto-venv"
req="$root/tests/moto/requirements.txt"
stamp="$venv/.stackwatch-stamp"
py="${PYTHON:-python3}"

log() { echo "moto-venv: $*" >&2; }

command -v "$py" >/dev/null || { log "no $py on PATH"; exit 1; }
mkdir -p "$root/target"

# One installer at a time; the others wait and then find the stamp.
if command -v flock >/dev/null; then
    exec 9>"$root/target/moto-venv.lock"
    flock 9
fi

want="$( { cat "$req"; "$py" -c 'import sys; print(sys.version)'; echo "script-v1"; } | sha256sum | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "$venv/bin/python"
    exit 0
fi

start=$(date +%s)
log "creating $venv with $("$py" --version 2>&1)"
rm -rf "$venv"

make_venv() {
    # 1. The normal way.
    if [[ -z "${MOTO_VENV_NO_ENSUREPIP:-}" ]] && "$py" -m venv "$venv" 2>/dev/null \
        && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
        return 0
    fi
    rm -rf "$venv"
    # 2. Debian's python3 without python3-venv has no ensurepip: make the venv without pip, then
    #    bootstrap pip from its own wheel, fetched from PyPI by the system pip. Touches nothing
    #    outside target/.
    log "python3 -m venv cannot install pip here (no ensurepip); bootstrapping pip from its wheel"
    local wheels="$root/target/moto-venv-wheels"
    if "$py" -m venv --without-pip "$venv" \
        && "$py" -m pip download --quiet --no-deps --only-binary=:all: -d "$wheels" pip; then
        local whl
        whl="$(ls -t "$wheels"/pip-*.whl | head -n1)"
        if "$venv/bin/python" "$whl/pip" install --quiet --no-index "$whl" \
            && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
            rm -rf "$wheels"
            return 0
        fi
    fi
    rm -rf "$venv" "$wheels"
    # 3. virtualenv, installed for this user.
    log "falling back to: $py -m pip install --user virtualenv"
    if ! "$py" -m virtualenv --version >/dev/null 2>&1; then
        "$py" -m pip install --quiet --user virtualenv \
            || "$py" -m pip install --quiet --user --break-system-packages virtualenv
    fi
    "$py" -m virtualenv --quiet "$venv"
}

if ! make_venv; then
    log "could not create a venv: install python3-venv (apt-get install python3-venv) or virtualenv"
    exit 1
fi

log "installing tests/moto/requirements.txt"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req"
"$venv/bin/python" -c 'import moto.server, boto3' \
    || { log "moto does not import after the install"; exit 1; }
echo "$want" >"$stamp"
log "ready in $(( $(date +%s) - start )) s"
echo "$venv/bin/python"
