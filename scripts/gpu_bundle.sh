#!/bin/sh
# Packs what a GPU machine without Bazel needs to run trainkit's GPU tests,
# samples and benchmark into gpu_bundle/ (git-ignored): bundle.tar.xz with the
# built binaries, libtrainkit_cuda.so and every shared library they load from
# outside the CUDA toolkit and the C runtime (OpenBLAS, OpenMP, Open MPI, zlib),
# plus Fashion-MNIST and gpu_check.sh, which unpacks and runs it all there:
#   sh gpu_bundle/gpu_check.sh gpu_bundle OUT_DIR
set -eu
cd "$(dirname "$0")/.."
bazel build //capi:libtrainkit_cuda.so //capi:libtrainkit.so //tests/cuda:cuda_backend_test \
  //tests/dist:nccl_rendezvous_test //bench:gpu_bench //bench:backward_profile //samples/c:fashion_mnist \
  //samples/c:fashion_mnist_cnn
staging=$(mktemp -d)
for target in capi/libtrainkit_cuda.so capi/libtrainkit.so tests/cuda/cuda_backend_test \
  tests/dist/nccl_rendezvous_test bench/gpu_bench bench/backward_profile samples/c/fashion_mnist \
  samples/c/fashion_mnist_cnn; do
  cp "bazel-bin/$target" "$staging/"
  ldd "bazel-bin/$target" | awk '/=> \// { print $3 }' | while read -r lib; do
    case "$lib" in
      /usr/local/cuda*|*/libc.so*|*/libm.so*|*/libstdc++.so*|*/libgcc_s.so*|*/libpthread.so*|*/libdl.so*|*/librt.so*|*/ld-linux*) ;;
      *) cp -L -n "$lib" "$staging/" ;;
    esac
  done
done
cp samples/c/fashion_mnist_cnn.json bench/gpu_bench.sh bench/torch_bench.py bench/dp_projection.py "$staging/"
chmod -R u+w "$staging"
rm -rf gpu_bundle
mkdir -p gpu_bundle
tar -C "$staging" -cJf gpu_bundle/bundle.tar.xz .
rm -rf "$staging"
cp scripts/gpu_check.sh gpu_bundle/
# The data set travels too: the GPU machine has no network.
if [ -d /usr/share/datasets/fashion-mnist ]; then
  cp -r /usr/share/datasets/fashion-mnist gpu_bundle/
fi
du -sh gpu_bundle
