#!/bin/sh
# Collects what a GPU machine without Bazel needs to run trainkit's GPU tests,
# samples and benchmark into gpu_bundle/ (git-ignored): the built binaries,
# libtrainkit_cuda.so, and every shared library they load from outside the
# CUDA toolkit and the C runtime (OpenBLAS, OpenMP, Open MPI, zlib, gtest).
# There, run with LD_LIBRARY_PATH=gpu_bundle TK_CUDA_LIBRARY=gpu_bundle/libtrainkit_cuda.so.
set -eu
cd "$(dirname "$0")/.."
bazel build //capi:libtrainkit_cuda.so //capi:libtrainkit.so //tests/cuda:cuda_backend_test \
  //tests/dist:nccl_rendezvous_test //bench:gpu_bench //bench:backward_profile //samples/c:fashion_mnist \
  //samples/c:fashion_mnist_cnn
rm -rf gpu_bundle
mkdir -p gpu_bundle
for target in capi/libtrainkit_cuda.so capi/libtrainkit.so tests/cuda/cuda_backend_test \
  tests/dist/nccl_rendezvous_test bench/gpu_bench bench/backward_profile samples/c/fashion_mnist \
  samples/c/fashion_mnist_cnn; do
  cp "bazel-bin/$target" gpu_bundle/
  ldd "bazel-bin/$target" | awk '/=> \// { print $3 }' | while read -r lib; do
    case "$lib" in
      /usr/local/cuda*|*/libc.so*|*/libm.so*|*/libstdc++.so*|*/libgcc_s.so*|*/libpthread.so*|*/libdl.so*|*/librt.so*|*/ld-linux*) ;;
      *) cp -L -n "$lib" gpu_bundle/ ;;
    esac
  done
done
cp samples/c/fashion_mnist_cnn.json bench/gpu_bench.sh bench/torch_bench.py bench/dp_projection.py \
  scripts/gpu_check.sh gpu_bundle/
chmod -R u+w gpu_bundle
du -sh gpu_bundle
