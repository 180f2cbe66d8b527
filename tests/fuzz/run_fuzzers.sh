#!/bin/bash
# Builds the checkpoint-reader, model-spec, IDX and CSV fuzz targets with clang-14
# (libFuzzer + AddressSanitizer + UBSan), runs each over its seed corpus
# (every truncation and sampled header bit flips of a reference file), then
# fuzzes each for a bounded time. Any crash, leak or sanitizer report fails.
set -euo pipefail
seconds="${FUZZ_SECONDS:-20}"
work="${TEST_TMPDIR:-/tmp}/fuzz"
mkdir -p "$work/obj"
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -I.)
# The ops' definitions and the kernel table, not their kernels: nothing here runs one.
sources=(core/base/dtype.cc core/base/file_read.cc core/base/shape.cc core/graph/graph.cc core/io/model_spec.cc core/io/safetensors.cc
         core/data/idx.cc core/data/csv.cc core/kernels/kernel_table.cc $(ls core/ops/*.cc core/ops/*/*.cc | grep -v '_cpu\.cc$'))
objects=()
for source in "${sources[@]}"; do
  object="$work/obj/$(echo "$source" | tr / _).o"
  clang++-14 "${flags[@]}" -c "$source" -o "$object"
  objects+=("$object")
done
python3 tests/fuzz/make_corpus.py "$work/corpus"
for target in safetensors model_spec idx csv; do
  clang++-14 "${flags[@]}" -fsanitize=fuzzer tests/fuzz/${target}_fuzz.cc "${objects[@]}" -lz -o "$work/$target"
  echo "== $target: seed corpus, then ${seconds}s of fuzzing"
  "$work/$target" -runs=0 "$work/corpus/$target" 2>&1 | tail -1
  # libFuzzer exits non-zero on any finding and writes the input to crash-*.
  if ! "$work/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
      -artifact_prefix="$work/$target-" "$work/corpus/$target" >"$work/$target.log" 2>&1; then
    tail -40 "$work/$target.log"
    echo "FAIL: $target fuzzer found a problem"
    exit 1
  fi
  grep -E "^stat::number_of_executed_units" "$work/$target.log"
done
echo "PASS: no crashes"
