#!/bin/sh
# The C layer (//capi) only converts types and guards: it depends on core's
# API (//core:api, //core:api_distributed) and base (//core:base) and on no
# other core library, and its sources include only core/api/ and core/base/
# headers. Core's other libraries are also invisible to //capi in Bazel.
# Args: the genquery output of //capi's direct deps, then the C layer's sources.
set -eu
deps="$1"
shift
status=0
allowed='^//core:(api|api_distributed|base)$'
others=$(grep '^//core:' "$deps" | grep -Ev "$allowed" || true)
if [ -n "$others" ]; then
  echo "FAIL: //capi depends on core libraries other than core/api and core/base:"
  echo "$others"
  status=1
fi
if ! grep -Eq '^//core:api$' "$deps"; then
  echo "FAIL: the dependency list does not name //core:api; the query did not run as expected:"
  cat "$deps"
  status=1
fi
for source in "$@"; do
  includes=$(grep -n '#include "core/' "$source" | grep -Ev '#include "core/(api|base)/' || true)
  if [ -n "$includes" ]; then
    echo "FAIL: $source includes core headers outside core/api and core/base:"
    echo "$includes"
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "PASS: //capi reaches core only through core/api and core/base ($# sources checked)"
exit "$status"
