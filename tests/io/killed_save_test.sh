#!/bin/bash
# A save killed at any moment (SIGKILL, 25 times at varied delays) never
# leaves an unloadable latest checkpoint.
set -eu
writer="$1"
path="${TEST_TMPDIR:-/tmp}/killed.safetensors"
rm -f "$path"
for i in $(seq 1 25); do
  "$writer" write "$path" &
  pid=$!
  # The first round waits for a first checkpoint; then kill at varied moments.
  if [ "$i" -eq 1 ]; then
    for _ in $(seq 1 100); do [ -f "$path" ] && break; sleep 0.05; done
  fi
  sleep "0.0$(( (i * 7) % 10 ))$(( i % 10 ))"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  if ! "$writer" check "$path"; then
    echo "FAIL: after kill $i the latest checkpoint does not load"
    exit 1
  fi
done
# One more save, left to finish, removes what the killed writers abandoned.
"$writer" write "$path" &
pid=$!
sleep 0.5
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
"$writer" write-once "$path"
leftovers=$(ls "$path".tmp-* 2>/dev/null | wc -l)
[ "$leftovers" -eq 0 ] || { echo "FAIL: $leftovers abandoned temporary files remain after a clean save"; exit 1; }
echo "PASS: 25 killed saves, the checkpoint always loaded, and a clean save removed the abandoned temporaries"
