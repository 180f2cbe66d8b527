#!/bin/bash
# Python binding: pytest over the package built by //bindings:python_binding.
set -euo pipefail
package_init="$1"; reference="$2"; tests="$3"; export TRAINKIT_MANIFEST="$(cd "$(dirname "$4")" && pwd)/$(basename "$4")"
export PYTHONPATH="$(cd "$(dirname "$package_init")/.." && pwd)"
export TRAINKIT_REFERENCE="${TEST_TMPDIR:-/tmp}/python-reference.txt"
"$reference" > "$TRAINKIT_REFERENCE"
python3 -m pytest -q -p no:cacheprovider "$tests"
