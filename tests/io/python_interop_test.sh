#!/bin/sh
# Weights exported through the C API read back with Python's safetensors/numpy.
set -eu
out="${TEST_TMPDIR:-/tmp}/python-interop"
mkdir -p "$out"
"$1" "$out"
python3 "$2" "$out"
