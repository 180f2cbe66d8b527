#!/usr/bin/env bash
# Installs the Debian packages trainkit builds, tests and runs with; does
# nothing when they are all present already.
set -euo pipefail

packages=(
  bazel-bootstrap        # the build (Bazel 4.2.3, offline)
  g++
  libopenblas-openmp-dev # BLAS, sharing OpenMP threads with trainkit's loops
  zlib1g-dev             # gzip IDX files
  libgtest-dev libgmock-dev
  libbenchmark-dev
  python3                # test totals
  dataset-fashion-mnist  # the default data set
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
