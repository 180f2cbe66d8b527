#!/bin/bash
# A CMake project (find_package(trainkit)) and a Makefile project (pkg-config)
# of a user's own, built from a scratch copy against the installed prefix
# alone; each trains and prints its accuracy. Then the prefix is moved, and a
# program built against the new place runs too (nothing inside names it).
# Args: tarball consumer-sources-folder
set -euo pipefail
source "$(dirname "$0")/accuracy.sh"
tarball="$(readlink -f "$1")" sources="$(readlink -f "$2")"  # absolute: the test changes folders
work="${TEST_TMPDIR:-/tmp}/c-consumers"
rm -rf "$work" && mkdir -p "$work/opt" "$work/project"
tar -xzf "$tarball" -C "$work/opt"
prefix=$(echo "$work"/opt/trainkit-*)
cp "$sources"/train_teacher.c "$sources"/CMakeLists.txt "$sources"/Makefile "$work/project/"

echo "== CMake: find_package(trainkit) from $prefix"
cmake -S "$work/project" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release > "$work/cmake.log" || { cat "$work/cmake.log"; exit 1; }
cmake --build "$work/cmake-build" > "$work/build.log" || { cat "$work/build.log"; exit 1; }
out=$("$work/cmake-build/train_teacher")
check_accuracy "$out"
echo "   links: $(ldd "$work/cmake-build/train_teacher" | grep libtrainkit)"

echo "== Makefile: pkg-config --cflags --libs trainkit"
echo "   $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs trainkit)"
(cd "$work/project" && PKG_CONFIG_PATH="$prefix/lib/pkgconfig" make -s train_teacher)
out=$("$work/project/train_teacher")
check_accuracy "$out"

echo "== the prefix moved elsewhere"
mv "$prefix" "$work/moved"
rm -f "$work/project/train_teacher"
(cd "$work/project" && PKG_CONFIG_PATH="$work/moved/lib/pkgconfig" make -s train_teacher)
out=$("$work/project/train_teacher")
check_accuracy "$out"
echo "PASS"
