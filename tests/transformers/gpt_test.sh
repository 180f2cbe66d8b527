#!/bin/bash
# pytest over test_gpt.py with the built C sample.
set -euo pipefail
export TRAINKIT_GPT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
python3 -m pytest -q -s -p no:cacheprovider "$2"
