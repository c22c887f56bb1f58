#!/usr/bin/env bash
# Fails when code or tests read a file outside the repository: a path built from
# CARGO_MANIFEST_DIR that climbs out with "..", or one that names ../shared. A fresh clone has
# nothing beside it, so such a read passes here and fails for every user. Log group names and
# paths inside test data are not file reads and are not looked at.
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=(src tests benches examples scripts build.rs)
found=$(perl -0777 -ne '
    while (/(CARGO_MANIFEST_DIR\W{0,12}(?:\)\s*,?\s*|\)\s*\.join\(\s*)"\/?\.\.[\/"]|\.\.\/shared\b)/g) {
        my $before = substr($_, 0, pos($_));
        my $line = ($before =~ tr/\n//) + 1;
        print "$ARGV:$line: $1\n";
    }' $(find "${dirs[@]}" -type f \( -name '*.rs' -o -name '*.sh' -o -name '*.py' \) \
        ! -path scripts/check-self-contained.sh 2>/dev/null) || true)
if [ -n "$found" ]; then
    echo "error: these read files outside the repository (a fresh clone has nothing beside it):" >&2
    echo "$found" >&2
    echo "copy the data into tests/data/ and read it from there" >&2
    exit 1
fi
