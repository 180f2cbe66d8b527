#!/bin/sh
# The GPU benchmark of the CUDA issue: trainkit against PyTorch (eager AMP and
# torch.compile) on one GPU, in one run, with the ratios.
#
#   sh bench/gpu_bench.sh DIR [SECONDS] [TORCH_MODES]
#
# DIR holds gpu_bench, libtrainkit_cuda.so and the shared libraries they need
# (scripts/gpu_bundle.sh makes it); the machine needs python3 with torch.
set -eu
dir="$1"
seconds="${2:-3}"
modes="${3:-eager,compile,queued}"
export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export TK_CUDA_LIBRARY="$dir/libtrainkit_cuda.so"
here=$(dirname "$0")
"$dir/gpu_bench" --seconds "$seconds" | tee trainkit.txt
python3 "$here/torch_bench.py" --seconds "$seconds" --modes "$modes" | tee torch.txt
python3 - <<'PY'
rates = {}
for path in ("trainkit.txt", "torch.txt"):
    for line in open(path):
        if line.startswith("#"):
            print(line.strip())
            continue
        parts = line.split()
        if path == "trainkit.txt":
            rates[(parts[0], "trainkit")] = float(parts[1])
            rates[(parts[0], "trainkit_gflops")] = float(parts[2])
            rates[(parts[0], "pageable")] = float(parts[3])
            rates[(parts[0], "trainkit_queued")] = float(parts[4])
            rates[(parts[0], "no_graphs")] = float(parts[5])
        else:
            rates[(parts[0], parts[1])] = float(parts[2])
goals = {"a1": (5, 1.2), "a2": (5, 1.2), "b": (1.0, None), "c": (3, None), "cnn": (1.0, None)}
print(f"{'model':6} {'trainkit':>10} {'pageable':>10} {'eager':>10} {'compile':>10} {'x eager':>8} {'x compile':>9}  goal")
for model in ("a1", "a2", "b", "c", "cnn"):
    if (model, "trainkit") not in rates:
        continue
    ours, eager, compiled = rates[(model, "trainkit")], rates.get((model, "eager")), rates.get((model, "compile"))
    goal = goals[model]
    print(f"{model:6} {ours:10.1f} {rates[(model, 'pageable')]:10.1f} {eager or 0:10.1f} {compiled or 0:10.1f} {ours / eager if eager else 0:8.2f} "
          f"{ours / compiled if compiled else 0:9.2f}  >= {goal[0]}x eager" + (f", {goal[1]}x compile" if goal[1] else ""))
print("queued steps (no loss read per step), and trainkit's steps launched kernel by kernel (no CUDA graphs):")
print(f"{'model':6} {'queued':>10} {'torch q.':>10} {'x torch q.':>10} {'no graphs':>10} {'graph gain':>10}")
for model in ("a1", "a2", "b", "c", "cnn"):
    if (model, "trainkit_queued") not in rates:
        continue
    queued, torch_queued = rates[(model, "trainkit_queued")], rates.get((model, "queued"))
    print(f"{model:6} {queued:10.1f} {torch_queued or 0:10.1f} {queued / torch_queued if torch_queued else 0:10.2f} "
          f"{rates[(model, 'no_graphs')]:10.1f} {rates[(model, 'trainkit')] / rates[(model, 'no_graphs')]:10.2f}")
if ("b", "cublas_gflops") in rates:
    per_step = rates[("b", "trainkit_gflops")] / rates[("b", "trainkit")]
    for label, rate in (("waited", rates[("b", "trainkit")]), ("queued", rates.get(("b", "trainkit_queued"), 0))):
        share = per_step * rate / rates[("b", "cublas_gflops")]
        print(f"b {label}: {per_step * rate:.0f} GFLOP/s = {100 * share:.0f}% of cuBLAS's "
              f"{rates[('b', 'cublas_gflops')]:.0f} GFLOP/s on the same shapes (goal >= 85%)")
PY
