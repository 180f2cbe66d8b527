#!/bin/bash
# The wheel installed with pip into a fresh virtual environment (numpy from
# the system's site-packages, nothing from the network), then used from a
# scratch folder with no path into the source tree: `python -m trainkit
# --version`, and a script of a user's own that trains and prints its accuracy.
# The natives it loads come from inside the installed package (oneDNN too).
# Args: wheel consumer-script
set -euo pipefail
source "$(dirname "$0")/accuracy.sh"
wheel="$(readlink -f "$1")" script="$(readlink -f "$2")"  # absolute: the test changes folders
work="${TEST_TMPDIR:-/tmp}/python-wheel"
rm -rf "$work" && mkdir -p "$work/dist" "$work/app"
name=$(python3 - "$wheel" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    info = next(n for n in wheel.namelist() if n.endswith(".dist-info/WHEEL"))
    version = info.split("/")[0][len("trainkit-"):-len(".dist-info")]
    tag = next(l.split(": ")[1] for l in wheel.read(info).decode().splitlines() if l.startswith("Tag: "))
print(f"trainkit-{version}-{tag}.whl")
PY
)
cp "$wheel" "$work/dist/$name"
python3 -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install -q --no-index --no-deps --disable-pip-version-check "$work/dist/$name"
cp "$script" "$work/app/"
cd "$work/app"
unset PYTHONPATH
"$work/venv/bin/python" -m trainkit --version | tee version.txt
grep -q "$work/venv/lib/" version.txt || { echo "FAIL: not loaded from the virtual environment"; exit 1; }
out=$("$work/venv/bin/python" "$(basename "$script")")
check_accuracy "$out"
maps=$("$work/venv/bin/python" -c "import trainkit; print(open('/proc/self/maps').read())")
echo "$maps" | grep -q "$work/venv/lib/.*/trainkit/libdnnl.so.2" || { echo "FAIL: oneDNN not loaded from the wheel"; exit 1; }
echo "$maps" | grep -q "$work/venv/lib/.*/trainkit/libtrainkit.so.0" || { echo "FAIL: libtrainkit not loaded from the wheel"; exit 1; }
"$work/venv/bin/python" -m pip uninstall -q -y trainkit
[ ! -d "$(echo "$work"/venv/lib/python*/site-packages/trainkit)" ] || { echo "FAIL: uninstall left the package"; exit 1; }
echo "PASS"
