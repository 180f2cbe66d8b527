#!/bin/bash
# C# binding: the test program compiled against TrainKit.dll, run on Mono with
# the reference scenario's C output and the manifest generated from the header.
set -euo pipefail
dll="$1"; reference="$2"; test_source="$3"; manifest="$4"
work="${TEST_TMPDIR:-/tmp}/csharp-test"
mkdir -p "$work"
cp "$dll" "$(dirname "$dll")"/*.so* "$work/"
"$reference" > "$work/reference.txt"
mcs -nologo -langversion:7.2 -unsafe -r:"$work/TrainKit.dll" -out:"$work/TrainKitTests.exe" "$test_source"
manifest="$(cd "$(dirname "$manifest")" && pwd)/$(basename "$manifest")"
cd "$work"
mono TrainKitTests.exe reference.txt "$manifest"
