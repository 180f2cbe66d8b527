#!/bin/sh
# Trains the CNN sample (conv + batch norm + pooling) with its defaults and
# requires a test accuracy of at least 0.915 (published 2-conv CNNs:
# 0.876-0.925); then builds the same network from its JSON spec and checks one
# epoch of it learns (at least 0.85).
set -eu
sample="$1"
spec="$2"
data=/usr/share/datasets/fashion-mnist
if [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
  echo "FAIL: $data is missing; install Debian's dataset-fashion-mnist"
  exit 1
fi
require() {  # require FILE MINIMUM
  accuracy=$(sed -n 's/^test accuracy: //p' "$1")
  if [ -z "$accuracy" ]; then
    echo "FAIL: no 'test accuracy:' line in $1"
    exit 1
  fi
  if awk -v a="$accuracy" -v m="$2" 'BEGIN { exit !(a >= m) }'; then
    echo "PASS: test accuracy $accuracy >= $2"
  else
    echo "FAIL: test accuracy $accuracy < $2"
    exit 1
  fi
}
"$sample" --seed 1 --data "$data" | tee cnn.txt
require cnn.txt 0.915
grep -q "parameters 421738 " cnn.txt || { echo "FAIL: the built CNN is not the expected network"; exit 1; }
"$sample" --spec "$spec" --epochs 1 --seed 2 --data "$data" | tee spec.txt
grep -q "parameters 421738 " spec.txt || { echo "FAIL: the spec does not build the same network"; exit 1; }
require spec.txt 0.85
