#!/bin/sh
# The MLP grid against peers, in one run: trainkit (mlp_bench --grid), PyTorch
# (torch_cpu_bench.py --grid) and TensorFlow Keras fit (tf_cpu_bench.py), same
# models, batches, optimizer and threads; every cell with both ratios and
# trainkit's rate as a share of the 1024^3 sgemm measured in the same run.
#
#   bazel build //bench:mlp_bench && sh bench/mlp_grid.sh [SECONDS] [THREADS]
#
# TORCH_PYTHON and TF_PYTHON name pythons with torch and tensorflow (default
# python3); a peer whose python lacks it shows "-".
set -eu
seconds="${1:-2}"
threads="${2:-$(lscpu -p=CORE 2>/dev/null | grep -v '^#' | sort -u | wc -l)}"
[ "$threads" -gt 0 ] 2>/dev/null || threads=$(nproc)
here=$(dirname "$0")
bin="${BENCH_BIN:-bazel-bin/bench}"
out=$(mktemp -d)
"$bin/mlp_bench" --grid --seconds "$seconds" --threads "$threads" | tee "$out/trainkit.txt"
"${TORCH_PYTHON:-python3}" "$here/torch_cpu_bench.py" --grid --seconds "$seconds" --threads "$threads" \
  | tee "$out/torch.txt" || true
"${TF_PYTHON:-python3}" "$here/tf_cpu_bench.py" --seconds "$seconds" --threads "$threads" \
  | tee "$out/tf.txt" || true
python3 - "$out" <<'PY'
import sys

out = sys.argv[1]
def cells(name):
    rates = {}
    for line in open(f"{out}/{name}.txt"):
        if line.startswith("#"):
            print(line.strip())
        parts = line.split()
        if parts and parts[0] == "grid":
            rates[(parts[1], int(parts[2]))] = [float(v) for v in parts[3:]]
    return rates
ours, torch, tf = cells("trainkit"), cells("torch"), cells("tf")
print(f"{'model':22} {'batch':>5} {'trainkit':>9} {'of sgemm':>8} {'torch':>9} {'vs torch':>8} {'keras':>9} {'vs keras':>8}")
worst = {}
for (model, batch), (rate, _gflops, share) in ours.items():
    row = f"{model:22} {batch:5d} {rate:9.0f} {share:7.0f}%"
    for peer, key in ((torch, "torch"), (tf, "keras")):
        if (model, batch) in peer:
            theirs = peer[(model, batch)][0]
            row += f" {theirs:9.0f} {rate / theirs:8.2f}"
            worst[key] = min(worst.get(key, 1e9), rate / theirs)
        else:
            row += f" {'-':>9} {'-':>8}"
    print(row)
for key, ratio in worst.items():
    print(f"lowest ratio against {key}: {ratio:.2f}")
PY
