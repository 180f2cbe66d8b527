#!/bin/bash
# Shipped code runs on any x86-64-v2 machine: every AVX (VEX-encoded) or
# BMI/LZCNT/MOVBE instruction (all beyond x86-64-v2) in the given libraries sits inside a function clone built for
# x86-64-v3 (TK_CPU_CLONES), which the loader picks only on CPUs that have it;
# and libtrainkit has such clones (its CPU kernels' loops).
# Args: libtrainkit.so other-shared-objects...
set -euo pipefail
failures=0
for library in "$@"; do
  listing=$(objdump -d --no-show-raw-insn "$library" | awk -F'\t' '
    /^[0-9a-f]+ <.*>:$/ { name = $0; next }
    NF >= 2 && $2 ~ /^(v[a-z]|(shlx|shrx|sarx|rorx|andn|bzhi|bextr|blsi|blsr|blsmsk|pdep|pext|mulx|tzcnt|lzcnt|movbe)[ \t]|(shlx|shrx|sarx|rorx|andn|bzhi|bextr|blsi|blsr|blsmsk|pdep|pext|mulx|tzcnt|lzcnt|movbe)$)/ { count[name]++ }
    END { for (n in count) print count[n] "\t" n }')
  clones=$(echo "$listing" | grep -c 'arch_x86_64_v3' || true)
  others=$(echo "$listing" | grep -v 'arch_x86_64_v3' | grep . || true)
  echo "$(basename "$library"): beyond-v2 instructions in $clones x86-64-v3 clones, $(echo -n "$others" | grep -c . || true) other functions"
  if [ -n "$others" ]; then
    echo "FAIL: beyond-v2 instructions outside the clones in $(basename "$library"):"; echo "$others" | head -10
    failures=$((failures + 1))
  fi
  if [ "$library" = "$1" ] && [ "$clones" -lt 20 ]; then
    echo "FAIL: only $clones AVX clones in $(basename "$library")"; failures=$((failures + 1))
  fi
done
[ "$failures" -eq 0 ] && echo PASS
