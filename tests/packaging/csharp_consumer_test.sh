#!/bin/bash
# A C# program of a user's own, compiled with Mono's mcs against the NuGet
# package's TrainKit.dll, run two ways: from the package's own layout (the
# assembly in lib/netstandard2.0, its natives in runtimes/linux-x64/native, as
# in a NuGet packages folder) and from an output folder laid out as .NET's
# build lays it out (TrainKit.dll beside the program, natives under
# runtimes/linux-x64/native). Without the natives, the error names the library
# and the platform. (.NET itself is not on these machines: not run here.)
# Args: nupkg consumer-source
set -euo pipefail
source "$(dirname "$0")/accuracy.sh"
nupkg="$(readlink -f "$1")" source="$(readlink -f "$2")"  # absolute: the test changes folders
work="${TEST_TMPDIR:-/tmp}/csharp-consumer"
rm -rf "$work" && mkdir -p "$work/packages/trainkit/0" "$work/app"
(cd "$work/packages/trainkit/0" && unzip -q "$nupkg")
package="$work/packages/trainkit/0"
cp "$source" "$work/app/"
cd "$work/app"
mcs -nologo -r:"$package/lib/netstandard2.0/TrainKit.dll" -out:TrainTeacher.exe TrainTeacher.cs
echo "== from the package's layout (MONO_PATH to its lib/netstandard2.0)"
out=$(MONO_PATH="$package/lib/netstandard2.0" mono TrainTeacher.exe)
check_accuracy "$out"

echo "== from a .NET-style output folder"
mkdir -p "$work/out/runtimes/linux-x64/native"
cp TrainTeacher.exe "$package/lib/netstandard2.0/TrainKit.dll" "$work/out/"
cp "$package"/runtimes/linux-x64/native/* "$work/out/runtimes/linux-x64/native/"
out=$(cd "$work/out" && mono TrainTeacher.exe)
check_accuracy "$out"

echo "== without the natives"
rm -rf "$work/out/runtimes"
if message=$(cd "$work/out" && mono TrainTeacher.exe 2>&1); then echo "FAIL: ran without natives"; exit 1; fi
echo "$message" | grep -m1 "DllNotFoundException" || true
echo "$message" | grep -q "libtrainkit_csharp.so" && echo "$message" | grep -q "linux-x64" ||
  { echo "FAIL: the error names neither library nor platform: $message"; exit 1; }
echo "PASS"
