#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test, then prints
# the totals as "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1

bazel test //... --keep_going --test_summary=short 2>&1 | tee bazel-test-output.txt
status=${PIPESTATUS[0]}
python3 scripts/count_tests.py bazel-test-output.txt
counted=$?
# Bazel's own status wins, so a build failure is never reported as success.
[ "$status" -eq 0 ] && [ "$counted" -eq 0 ]
