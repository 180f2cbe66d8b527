#!/bin/sh
# The CPU benchmark against a peer: trainkit's MLP and CNN benchmarks beside the
# same models, batches and optimizer in PyTorch on the same cores, in one run,
# with the ratios.
#
#   bazel build //bench:mlp_bench //bench:cnn_bench && sh bench/cpu_bench.sh [SECONDS] [THREADS]
#
# PYTHON names a python3 that has torch (default python3). THREADS (default:
# the physical cores) goes to both sides alike.
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
"$python" "$here/torch_cpu_bench.py" --seconds "$seconds" --threads "$threads" | tee "$out/torch.txt"
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
for line in open(f"{out}/torch.txt"):
    if line.startswith("#"):
        print(line.strip())
        continue
    *name, batch, precision, rate = line.split()
    theirs[(" ".join(name), batch, precision)] = float(rate)
print(f"{'model':26} {'batch':>5} {'prec':>5} {'trainkit':>10} {'torch':>10} {'ratio':>7}   (samples/s)")
for key, rate in theirs.items():
    if key in ours:
        print(f"{key[0]:26} {key[1]:>5} {key[2]:>5} {ours[key]:10.0f} {rate:10.0f} {ours[key] / rate:7.2f}")
PY
rm -rf "$out"
