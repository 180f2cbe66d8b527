#!/bin/bash
# The Python package's type hints, checked as its users' tools would:
# mypy --strict over the package (py.typed) and the sample that uses it.
set -euo pipefail
package_init="$1"; sample="$2"
export MYPYPATH="$(cd "$(dirname "$package_init")/.." && pwd)"
cache="${TEST_TMPDIR:-/tmp}/mypy-cache"
python3 -m mypy --strict --cache-dir "$cache" -p trainkit
python3 -m mypy --strict --cache-dir "$cache" "$sample"
