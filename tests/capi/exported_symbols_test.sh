#!/bin/sh
# libtrainkit.so exports only tk_* symbols and carries the ABI major in its SONAME.
set -eu
lib="$1"
others=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^tk_' || true)
if [ -n "$others" ]; then
  echo "FAIL: symbols outside the tk_ prefix are exported:"
  echo "$others" | head -20
  exit 1
fi
count=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -c '^tk_')
if [ "$count" -lt 60 ]; then
  echo "FAIL: only $count tk_ symbols exported"
  exit 1
fi
soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
if [ "$soname" != "libtrainkit.so.0" ]; then
  echo "FAIL: SONAME is '$soname', expected libtrainkit.so.0"
  exit 1
fi
echo "exported tk_ symbols: $count, SONAME $soname"
