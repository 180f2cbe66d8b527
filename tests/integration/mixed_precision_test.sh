#!/bin/sh
# Fashion-MNIST with fp16 and with bf16 mixed precision reaches a test accuracy
# within 0.5 points of fp32 with the same seed and schedule.
set -eu
sample="$1"
run() {
  "$sample" --epochs 3 --hidden 256 --batch 64 --seed 1 --precision "$1" | tee "output-$1.txt" >&2
  sed -n 's/^test accuracy: //p' "output-$1.txt"
}
fp32=$(run fp32)
for precision in fp16 bf16; do
  accuracy=$(run "$precision")
  if awk -v a="$accuracy" -v b="$fp32" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.005) }'; then
    echo "PASS: $precision test accuracy $accuracy vs fp32 $fp32"
  else
    echo "FAIL: $precision test accuracy $accuracy is more than 0.5 points from fp32 $fp32"
    exit 1
  fi
done
