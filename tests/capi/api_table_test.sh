#!/bin/sh
# capi/api_table.cc is what tools/generate_api_table.py makes of trainkit.h.
set -eu
python3 "$1" "$2" "${TEST_TMPDIR:-/tmp}/api_table.cc"
diff -u "$3" "${TEST_TMPDIR:-/tmp}/api_table.cc" && echo "PASS: api_table.cc is current"
