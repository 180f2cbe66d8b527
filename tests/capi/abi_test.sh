#!/bin/sh
# The ABI of the freshly built libtrainkit.so is compatible with the baseline
# checked in at capi/abi/libtrainkit.abi: no tk_ function removed, no
# signature or public type changed. Added functions, enumerators appended,
# and entries appended to tk_api (capi/abi/diff.supp) pass.
#
# After a deliberate change (or to record appended functions), refresh the
# baseline from the repository root with tools/update_abi_baseline.sh and
# commit it with the change.
#
# Args: abi_dump.sh, dump.supp, diff.supp, libtrainkit.abi, libtrainkit.so.
set -u
dump="$1" dump_supp="$2" diff_supp="$3" baseline="$4" lib="$5"
fresh="${TEST_TMPDIR:-/tmp}/libtrainkit.abi"
if ! sh "$dump" "$lib" "$dump_supp" "$fresh"; then
  echo "FAIL: abidw could not read $lib"
  exit 1
fi
report="${TEST_TMPDIR:-/tmp}/abidiff.txt"
abidiff --suppressions "$diff_supp" "$baseline" "$fresh" >"$report"
status=$?
cat "$report"
# abidiff's exit status is a bit field: 1 error, 2 usage error, 4 an ABI
# change, 8 an incompatible change. abidiff sets 8 only for removals; a
# changed signature or public type is a 4, so the summary lines decide too:
# only additions pass.
if [ $((status & 3)) -ne 0 ]; then
  echo "FAIL: abidiff could not compare (exit status $status)"
  exit 1
fi
if [ $((status & 8)) -ne 0 ]; then
  echo "FAIL: libtrainkit.so is not ABI-compatible with capi/abi/libtrainkit.abi (see the report above)"
  exit 1
fi
if grep -E 'changes summary: ' "$report" | grep -Eq '([1-9][0-9]*) (Removed|Changed)'; then
  echo "FAIL: a tk_ function or type changed or was removed against capi/abi/libtrainkit.abi (see above)"
  exit 1
fi
if [ $((status & 4)) -ne 0 ]; then
  echo "PASS: compatible additions only (tools/update_abi_baseline.sh records them)"
else
  echo "PASS: the ABI is the baseline's"
fi
