#!/bin/sh
# The fp16 quickstart runs, prints the loss scale, and its loss falls by half.
set -eu
"$1" | tee output.txt
grep -q "scale 65536" output.txt || { echo "FAIL: no loss scale in the output"; exit 1; }
first=$(awk '/^epoch/ { print $4; exit }' output.txt)
final=$(sed -n 's/^final loss \([0-9.]*\).*/\1/p' output.txt)
if awk -v a="$first" -v b="$final" 'BEGIN { exit !(b < a / 2) }'; then
  echo "PASS: loss $first -> $final"
else
  echo "FAIL: loss $first -> $final did not halve"
  exit 1
fi
