#!/bin/sh
# The CPU benchmark against peers: trainkit's MLP and CNN benchmarks beside the
# same models, batches and optimizer in PyTorch and in TensorFlow (Keras fit) on
# the same cores, in one run, with the ratios.
#
#   bazel build //bench:mlp_bench //bench:cnn_bench && sh bench/cpu_bench.sh [SECONDS] [THREADS]
#
# PYTHON and TF_PYTHON name pythons that have torch and tensorflow (default
# python3); a peer whose python lacks it shows "-". THREADS (default: the
# physical cores) goes to every side alike.
set -eu
seconds="${1:-3}"
threads="${2:-$(lscpu -p=CORE 2>/dev/null | grep -v '^#' | sort -u | wc -l)}"
[ "$threads" -gt 0 ] 2>/dev/null || threads=$(nproc)
python="${PYTHON:-python3}"
here=$(dirname "$0")
bin="${BENCH_BIN:-bazel-bin/bench}"
out=$(mktemp -d)
"$bin/mlp_bench" --seconds "$seconds" --threads "$threads" | tee "$out/mlp.txt"
"$bin/cnn_bench" --seconds "$seconds" --threads "$threads" | tee "$out/cnn.txt"
"$python" "$here/torch_cpu_bench.py" --seconds "$seconds" --threads "$threads" | tee "$out/torch.txt" || true
"${TF_PYTHON:-python3}" "$here/tf_cpu_bench.py" --models --seconds "$seconds" --threads "$threads" \
  | tee "$out/tf.txt" || true
python3 - "$out" <<'PY'
import sys

out = sys.argv[1]
ours, theirs = {}, {}
for line in open(f"{out}/mlp.txt"):
    if line.startswith("activation memory"):
        break  # the throughput table ends here
    parts = line.split()
    # rows: <model words...> <batch> <samples/s> ...; the model name has two words
    if len(parts) >= 4 and parts[0] in ("mlp", "quickstart") and parts[2].isdigit():
        ours[(f"{parts[0]} {parts[1]}", parts[2], "fp32")] = float(parts[3])
for line in open(f"{out}/cnn.txt"):
    parts = line.split()
    if len(parts) >= 4 and parts[0].isdigit() and parts[1] in ("fp32", "bf16"):
        ours[("cnn", parts[0], parts[1])] = float(parts[3])
def peer(name):
    rates = {}
    try:
        lines = open(f"{out}/{name}.txt").readlines()
    except OSError:
        return rates
    for line in lines:
        if line.startswith("#"):
            print(line.strip())
            continue
        *model, batch, precision, rate = line.split()
        rates[(" ".join(model), batch, precision)] = float(rate)
    return rates
torch, keras = peer("torch"), peer("tf")
print(f"{'model':26} {'batch':>5} {'prec':>5} {'trainkit':>10} {'torch':>10} {'ratio':>7} {'keras':>10} {'ratio':>7}"
      "   (samples/s)")
for key, rate in ours.items():
    row = f"{key[0]:26} {key[1]:>5} {key[2]:>5} {rate:10.0f}"
    for rates in (torch, keras):
        row += f" {rates[key]:10.0f} {rate / rates[key]:7.2f}" if key in rates else f" {'-':>10} {'-':>7}"
    print(row)
PY
rm -rf "$out"
