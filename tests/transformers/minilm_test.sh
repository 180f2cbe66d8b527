#!/bin/bash
# pytest over test_minilm.py with the built Python package and the samples.
set -euo pipefail
package_init="$1"; sample="$2"; tests="$3"
export TRAINKIT_MINILM_C="$(cd "$(dirname "$4")" && pwd)/$(basename "$4")"
export TRAINKIT_SPECS="$(cd "$(dirname "$5")" && pwd)"
export PYTHONPATH="$(cd "$(dirname "$package_init")/.." && pwd)"
export TRAINKIT_SAMPLES="$(cd "$(dirname "$sample")" && pwd)"
export PYTHONPATH="$PYTHONPATH:$TRAINKIT_SAMPLES"
python3 -m pytest -q -s -p no:cacheprovider "$tests"
