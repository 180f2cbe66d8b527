#!/bin/sh
# The GPU checks, as one script for a lent GPU machine (no Bazel there): run
# scripts/gpu_bundle.sh here, carry gpu_bundle/, then on the GPU machine:
#
#   sh gpu_bundle/gpu_check.sh gpu_bundle OUT_DIR [STEPS]
#
# STEPS (default all) picks from: environment tests nccl samples bench profile
# memcheck. Each step has its own time limit; the summary goes to
# OUT_DIR/summary.txt and every step's whole output to OUT_DIR/log.txt (one
# file, as the machine returns few). Set TORCH_MODES=eager to skip
# torch.compile in the benchmark.
set -u
bundle=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
steps="${3:-environment tests nccl samples bench profile memcheck}"
dir=/tmp/trainkit_gpu
rm -rf "$dir" && mkdir -p "$dir" && tar -C "$dir" -xJf "$bundle/bundle.tar.xz"
# cuDNN and NCCL may live in Python wheels rather than the toolkit.
extra=""
for lib in libnccl.so.2 libcudnn.so.9 libcublasLt.so.13; do
  found=$(find /usr/local/cuda/lib64/ /usr/lib/x86_64-linux-gnu /opt -name "$lib" 2>/dev/null | head -1)
  [ -n "$found" ] && extra="$extra:$(dirname "$found")"
done
export LD_LIBRARY_PATH="$dir$extra${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export TK_CUDA_LIBRARY="$dir/libtrainkit_cuda.so"
export PYTHONUNBUFFERED=1
data="$bundle/fashion-mnist"
[ -d "$data" ] || data=/usr/share/datasets/fashion-mnist
step() {  # step NAME SECONDS COMMAND...
  name="$1" limit="$2"
  shift 2
  echo "== $name" | tee -a "$out/summary.txt"
  echo "==================== $name: $*" >> "$out/log.txt"
  start=$(date +%s)
  timeout "$limit" "$@" > "$out/step.txt" 2>&1
  status=$?
  cat "$out/step.txt" >> "$out/log.txt"
  echo "   exit $status in $(( $(date +%s) - start )) s" | tee -a "$out/summary.txt"
  tail -4 "$out/step.txt" | sed 's/^/   /' | tee -a "$out/summary.txt"
  rm -f "$out/step.txt"
}
wants() { case " $steps " in *" $1 "*) return 0 ;; esac; return 1; }
if wants environment; then
  step environment 30 sh -c 'nvidia-smi; echo LD_LIBRARY_PATH=$LD_LIBRARY_PATH; ldd "$TK_CUDA_LIBRARY"'
fi
if wants tests; then
  step cuda_backend_test 120 "$dir/cuda_backend_test"
fi
if wants nccl; then
  step nccl_rendezvous_test 60 "$dir/nccl_rendezvous_test"
fi
if wants samples; then
  # The samples' own defaults, as the CPU integration tests run them.
  step fashion_mnist_gpu 60 "$dir/fashion_mnist" --seed 1 --device cuda --data "$data"
  step fashion_mnist_cnn_gpu 120 "$dir/fashion_mnist_cnn" --seed 1 --device cuda --data "$data"
fi
if wants bench; then
  (cd "$out" && step gpu_bench 240 sh "$dir/gpu_bench.sh" "$dir" 2 "${TORCH_MODES:-eager,compile,queued}")
  rm -f "$out/trainkit.txt" "$out/torch.txt"
fi
if wants profile; then
  step profile 60 "$dir/backward_profile" --model wide --batch 8192 --device 0 --precision bf16 \
    --out "$out/wide_gpu.json"
  step projection 20 python3 "$dir/dp_projection.py" "$out/wide_gpu.json"
  step profile_quickstart 30 "$dir/backward_profile" --model quickstart --batch 16384 --device 0 --precision fp16 \
    --out "$out/quickstart_gpu.json"
  step profile_cnn 30 "$dir/backward_profile" --model cnn --batch 64 --device 0 --precision fp32 \
    --out "$out/cnn_gpu.json"
fi
if wants memcheck && command -v compute-sanitizer > /dev/null; then
  step memcheck 150 compute-sanitizer --tool memcheck --error-exitcode 1 "$dir/cuda_backend_test"
fi
