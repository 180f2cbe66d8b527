#!/usr/bin/env bash
# The main job: installs what is missing, then trains an MLP on Fashion-MNIST
# with the C sample and prints per-epoch progress and the test accuracy.
# Extra arguments go to the sample (e.g. --epochs 3 --optimizer sgd).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
bazel run //samples/c:fashion_mnist -- "$@"
