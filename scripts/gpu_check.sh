#!/bin/sh
# The GPU checks, as one script for a lent GPU machine (no Bazel there): run
# scripts/gpu_bundle.sh here, carry gpu_bundle/, then on the GPU machine:
#
#   sh gpu_bundle/gpu_check.sh gpu_bundle OUT_DIR
#
# It runs, each with its own time limit, and writes every output to OUT_DIR:
#   1. nvidia-smi and the CUDA libraries it finds;
#   2. the GPU test suite (every primitive against the CPU, training on both);
#   3. the NCCL rendezvous test (world of one; two ranks with two GPUs);
#   4. the same test suite under compute-sanitizer memcheck;
#   5. Fashion-MNIST MLP (3 epochs) and CNN (2 epochs) on the GPU;
#   6. the wide MLP's step profile on the GPU and the 8/64-GPU projection;
#   7. the benchmark against PyTorch (bench/gpu_bench.sh).
set -u
dir=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export TK_CUDA_LIBRARY="$dir/libtrainkit_cuda.so"
data=/usr/share/datasets/fashion-mnist
step() {  # step NAME SECONDS COMMAND...
  name="$1" limit="$2"
  shift 2
  echo "== $name" | tee -a "$out/summary.txt"
  start=$(date +%s)
  timeout "$limit" "$@" > "$out/$name.txt" 2>&1
  status=$?
  echo "   exit $status in $(( $(date +%s) - start )) s" | tee -a "$out/summary.txt"
  tail -3 "$out/$name.txt" | sed 's/^/   /' | tee -a "$out/summary.txt"
}
step environment 30 sh -c 'nvidia-smi; ldd "$TK_CUDA_LIBRARY"; python3 -c "import torch; print(torch.__version__, torch.version.cuda)"'
step cuda_backend_test 180 "$dir/cuda_backend_test"
step nccl_rendezvous_test 120 "$dir/nccl_rendezvous_test"
if command -v compute-sanitizer > /dev/null; then
  step memcheck 300 compute-sanitizer --tool memcheck --error-exitcode 1 "$dir/cuda_backend_test"
fi
if [ -f "$data/train-images-idx3-ubyte.gz" ]; then
  step fashion_mnist_gpu 180 "$dir/fashion_mnist" --epochs 3 --hidden 256 --batch 64 --seed 1 --device cuda
  step fashion_mnist_cnn_gpu 240 "$dir/fashion_mnist_cnn" --epochs 2 --seed 1 --device cuda
fi
step profile 120 "$dir/backward_profile" --model wide --batch 8192 --device 0 --precision bf16 --out "$out/wide_gpu.json"
step projection 30 python3 "$dir/dp_projection.py" "$out/wide_gpu.json"
(cd "$out" && step gpu_bench 300 sh "$dir/gpu_bench.sh" "$dir" 3)
