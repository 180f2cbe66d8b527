#!/bin/sh
# capi/api_table.cc is what tools/generate_api_table.py makes of trainkit.h,
# and the generator accepts the header: the entries frozen in
# capi/api_frozen.cc still start tk_api, in their slots.
# Args: generator, trainkit.h, api_frozen.cc, api_table.cc.
set -eu
out="${TEST_TMPDIR:-/tmp}/api_table.cc"
if ! python3 "$1" "$2" "$3" "$out"; then
  echo "FAIL: the generator refused trainkit.h (see above)"
  exit 1
fi
diff -u "$4" "$out" && echo "PASS: api_table.cc is current and the frozen versions are intact"
