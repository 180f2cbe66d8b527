#!/bin/bash
# A rank killed mid-training: the survivor reports TK_ERROR_COMMUNICATION
# within the timeout plus a margin instead of hanging (the whole run is bounded).
set -uo pipefail
output=$(timeout 60 mpirun --allow-run-as-root --oversubscribe -np 2 --mca btl self,vader,tcp \
  --mca orte_abort_on_non_zero_status 0 "$1" 2>&1)
status=$?
echo "$output"
if echo "$output" | grep -q "rank 0: TK_ERROR_COMMUNICATION after"; then
  echo "PASS (mpirun exit $status)"
  exit 0
fi
echo "FAIL: rank 0 did not report a communication error"
exit 1
