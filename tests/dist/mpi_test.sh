#!/bin/bash
# MPI data parallel: 2 and 4 ranks on this machine give one process's weights,
# and an overflow on one rank skips the step on all of them.
set -euo pipefail
program="$1"
for n in 2 4; do
  echo "== mpirun -np $n"
  timeout 120 mpirun --allow-run-as-root --oversubscribe -np "$n" --mca btl self,vader,tcp "$program"
done
echo "PASS"
