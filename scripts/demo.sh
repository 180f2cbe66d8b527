#!/usr/bin/env bash
# The main job: installs what is missing, then trains an MLP on Fashion-MNIST
# with the trainkit CLI: a live progress bar within each epoch, one line per
# epoch, the test accuracy, and the paths of the metrics log and the plot.
# Extra arguments go to `trainkit train` (e.g. --epochs 3 --optimizer sgd).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
bazel build --noshow_progress --ui_event_filters=-info //cli:trainkit
bazel-bin/cli/trainkit train --spec samples/specs/fashion_mnist_mlp.json \
  --data /usr/share/datasets/fashion-mnist --epochs 10 --cosine --out runs/fashion_mnist "$@"
