#!/usr/bin/env bash
# Installs trainkit into PREFIX (default /usr/local): builds the relocatable
# tarball (//packaging:prefix_tarball) and unpacks it there.
#   PREFIX/include/trainkit/trainkit.h
#   PREFIX/lib/libtrainkit.so.X.Y.Z, libtrainkit.so.X, libtrainkit.so, plugins
#   PREFIX/lib/pkgconfig/trainkit.pc, PREFIX/lib/cmake/trainkit/
# Nothing inside names PREFIX, so the folder may be moved afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:-/usr/local}"
bazel build //packaging:prefix_tarball
tarball=$(ls bazel-bin/packaging/trainkit-*-linux-x86_64.tar.gz)
mkdir -p "$prefix"
tar -xzf "$tarball" -C "$prefix" --strip-components=1 --no-same-owner
echo "installed $(basename "$tarball" .tar.gz) into $prefix"
echo "  pkg-config: PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs trainkit"
echo "  CMake:      -DCMAKE_PREFIX_PATH=$prefix, then find_package(trainkit) and trainkit::trainkit"
