#!/bin/sh
# Trains the Fashion-MNIST sample through the C API for 3 epochs and requires
# a test accuracy of at least 0.87 (published one-hidden-layer MLPs: 0.87-0.88).
set -eu
sample="$1"
data=/usr/share/datasets/fashion-mnist
if [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
  echo "FAIL: $data is missing; install Debian's dataset-fashion-mnist"
  exit 1
fi
"$sample" --epochs 3 --hidden 256 --batch 64 --seed 1 --data "$data" | tee output.txt
accuracy=$(sed -n 's/^test accuracy: //p' output.txt)
if [ -z "$accuracy" ]; then
  echo "FAIL: no 'test accuracy:' line"
  exit 1
fi
if awk -v a="$accuracy" 'BEGIN { exit !(a >= 0.87) }'; then
  echo "PASS: test accuracy $accuracy >= 0.87"
else
  echo "FAIL: test accuracy $accuracy < 0.87"
  exit 1
fi
