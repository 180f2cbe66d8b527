#!/bin/bash
# The data-parallel sample reaches the single-process accuracy bar with two
# replicas on threads and with two MPI processes (3 epochs here).
set -euo pipefail
sample="$1"
dir="${TEST_TMPDIR:-/tmp}/dp"
mkdir -p "$dir"
"$sample" --epochs 3 --replicas 2 | tee "$dir/threads.txt"
timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 --mca btl self,vader,tcp "$sample" --epochs 3 | tee "$dir/mpi.txt"
for run in threads mpi; do
  accuracy=$(sed -n 's/^test accuracy: //p' "$dir/$run.txt")
  awk -v a="$accuracy" 'BEGIN { exit !(a >= 0.87) }' || { echo "FAIL: $run test accuracy '$accuracy' < 0.87"; exit 1; }
  echo "PASS: $run test accuracy $accuracy"
done
