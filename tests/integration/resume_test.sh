#!/bin/sh
# Resuming in a fresh process is exact: 2 epochs straight equal 1 epoch, save,
# a new process loading the checkpoint, and 1 more epoch (weights compared
# bit for bit). A damaged checkpoint makes the sample exit non-zero, naming
# the problem.
set -eu
sample="$1"
dir="${TEST_TMPDIR:-/tmp}/resume"
mkdir -p "$dir"
common="--epochs 2 --hidden 64 --batch 128 --seed 3"
"$sample" $common --save "$dir/straight.safetensors" > "$dir/straight.txt"
"$sample" $common --stop-after 1 --save "$dir/half.safetensors" > "$dir/half.txt"
"$sample" $common --resume "$dir/half.safetensors" --save "$dir/resumed.safetensors" | tee "$dir/resumed.txt"
python3 - "$dir/straight.safetensors" "$dir/resumed.safetensors" <<'PY'
import sys
import numpy as np
from safetensors.numpy import load_file
a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
assert sorted(a) == sorted(b), (sorted(a), sorted(b))
for name in a:
    assert a[name].tobytes() == b[name].tobytes(), f"{name} differs after resume"
print(f"PASS: {len(a)} tensors (weights and Adam moments) identical bit for bit")
PY
[ "$(tail -1 "$dir/straight.txt")" = "$(tail -1 "$dir/resumed.txt")" ] || { echo "FAIL: final lines differ"; exit 1; }
head -c 200 "$dir/half.safetensors" > "$dir/damaged.safetensors"
if "$sample" $common --resume "$dir/damaged.safetensors" > "$dir/damaged.txt" 2>&1; then
  echo "FAIL: a damaged checkpoint was accepted"
  exit 1
fi
grep -q "damaged.safetensors': header length" "$dir/damaged.txt" || { cat "$dir/damaged.txt"; echo "FAIL: no clear message"; exit 1; }
echo "PASS: the damaged checkpoint was refused: $(grep "header length" "$dir/damaged.txt")"
