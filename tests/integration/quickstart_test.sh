#!/bin/sh
# The quickstart sample runs and its loss falls by at least half.
set -eu
"$1" | tee output.txt
first=$(awk '/^epoch/ { print $4; exit }' output.txt)
final=$(sed -n 's/^final loss \([0-9.]*\).*/\1/p' output.txt)
if awk -v a="$first" -v b="$final" 'BEGIN { exit !(b < a / 2) }'; then
  echo "PASS: loss $first -> $final"
else
  echo "FAIL: loss $first -> $final did not halve"
  exit 1
fi
