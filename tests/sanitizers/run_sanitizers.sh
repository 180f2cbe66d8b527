#!/bin/bash
# Builds trainkit itself (every C++ source of the CPU library and the C API)
# under the sanitizers with the same compiler as the rest of the build, then
#  - AddressSanitizer + UndefinedBehaviorSanitizer: the whole C API test
#    (tests/capi/capi_test.c: misuse, failed steps, files, a short training)
#    and two trainers on two threads;
#    and the training loop (tests/capi/fit_test.c: fit, callbacks, cancel
#    from another thread, CSV files), the predictor (four threads at once)
#    and streaming batchers (tests/capi/stream_test.c: fill and producer threads);
#  - ThreadSanitizer: the two-trainer threads test, the training loop, the
#    predictor and streaming batchers.
# Any sanitizer report fails. Trainers run one thread each (threads = 1, one
# OpenMP and BLAS thread): libgomp is not instrumented, and the threads under
# test are the host's. Args: the generated core/backend/plugin_abi.h and
# core/dist/mpi_plugin_abi.h.
set -euo pipefail
plugin_abi="$1" mpi_plugin_abi="$2"
work="${TEST_TMPDIR:-/tmp}/sanitizers"
mkdir -p "$work/include/core/backend" "$work/include/core/dist"
cp "$plugin_abi" "$work/include/core/backend/plugin_abi.h"
cp "$mpi_plugin_abi" "$work/include/core/dist/mpi_plugin_abi.h"
sources=($(find core capi -name '*.cc' -not -path 'core/backend/cuda/*' | sort))
mpi_compile=($(mpicxx --showme:compile))
mpi_link=($(mpicxx --showme:link))
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

build() {  # name, sanitizer flags...
  local name="$1"; shift
  local flags=(-O1 -g -fno-omit-frame-pointer -fopenmp "$@")
  local objects=()
  mkdir -p "$work/$name"
  for source in "${sources[@]}"; do
    local object="$work/$name/$(echo "$source" | tr / _).o"
    g++ -std=c++17 "${flags[@]}" -DTK_BUILDING_LIBRARY -I. -I"$work/include" "${mpi_compile[@]}" -c "$source" -o "$object" &
    # Two compiles at a time: the machines this runs on have two cores.
    [ "$(jobs -rp | wc -l)" -ge 2 ] && wait -n
    objects+=("$object")
  done
  wait
  ar rcs "$work/$name/libtrainkit.a" "${objects[@]}"
  for program in tests/capi/capi_test.c tests/capi/fit_test.c tests/capi/predictor_test.c tests/capi/stream_test.c \
      tests/sanitizers/two_trainers.c; do
    local exe="$work/$name/$(basename "$program" .c)"
    gcc -std=c99 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE "${flags[@]}" -I. -c "$program" -o "$exe.o"
    # Whole archive: the CPU kernels register themselves from objects nothing names.
    g++ "${flags[@]}" "$exe.o" -Wl,--whole-archive "$work/$name/libtrainkit.a" -Wl,--no-whole-archive -lopenblas -ldnnl -lz -ldl -lpthread -lm "${mpi_link[@]}" -o "$exe"
  done
}

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
build asan -fsanitize=address,undefined -fno-sanitize-recover=undefined
(cd "$work" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$work/asan/capi_test")
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$work/asan/two_trainers"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$work/asan/fit_test"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$work/asan/predictor_test"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$work/asan/stream_test"

echo "== ThreadSanitizer"
build tsan -fsanitize=thread
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 "$work/tsan/two_trainers"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 "$work/tsan/fit_test"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 "$work/tsan/predictor_test"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 "$work/tsan/stream_test"
echo "PASS: no sanitizer reports"
