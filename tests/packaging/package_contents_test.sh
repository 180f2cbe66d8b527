#!/bin/bash
# What each package holds, listed, and what none may hold: an RPATH/RUNPATH
# or a string naming the build tree or this machine's folders, a dependency
# of libtrainkit on MPI or CUDA, or a version that disagrees with the header.
# Args: tarball jar pom nupkg wheel header version.bzl
set -euo pipefail
tarball="$(readlink -f "$1")" jar="$(readlink -f "$2")" pom="$(readlink -f "$3")" nupkg="$(readlink -f "$4")" wheel="$(readlink -f "$5")" header="$(readlink -f "$6")" version_file="$(readlink -f "$7")"  # absolute: the test changes folders
work="${TEST_TMPDIR:-/tmp}/package-contents"
rm -rf "$work" && mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

version=$(sed -n 's/^TK_VERSION = "\(.*\)"/\1/p' "$version_file")
header_version=$(awk '/#define TK_VERSION_(MAJOR|MINOR|PATCH)/ {v = v (v ? "." : "") $3} END {print v}' "$header")
[ "$version" = "$header_version" ] || fail "packaging/version.bzl says $version, trainkit.h says $header_version"

mkdir -p "$work/prefix" "$work/jar" "$work/nupkg" "$work/wheel"
tar -xzf "$tarball" -C "$work/prefix"
(cd "$work/jar" && unzip -q "$jar")
(cd "$work/nupkg" && unzip -q "$nupkg")
(cd "$work/wheel" && unzip -q "$wheel")
for package in prefix jar nupkg wheel; do
  echo "== $package"
  (cd "$work/$package" && find . \( -type f -o -type l \) | sed 's|^\./||' | grep -v '\.class$' | sort)
done
echo "== jar classes: $(cd "$work/jar" && find . -name '*.class' | wc -l)"

require() {  # package path...
  local package="$1"; shift
  for path in "$@"; do [ -e "$work/$package/$path" ] || fail "$package lacks $path"; done
}
p="trainkit-$version-linux-x86_64"
require prefix "$p/include/trainkit/trainkit.h" "$p/lib/libtrainkit.so.$version" "$p/lib/libtrainkit.so.0" \
  "$p/lib/libtrainkit.so" "$p/lib/libtrainkit_mpi.so" "$p/lib/pkgconfig/trainkit.pc" \
  "$p/lib/cmake/trainkit/trainkitConfig.cmake" "$p/lib/cmake/trainkit/trainkitConfigVersion.cmake"
[ "$(readlink "$work/prefix/$p/lib/libtrainkit.so.0")" = "libtrainkit.so.$version" ] || fail "libtrainkit.so.0 is not a link to libtrainkit.so.$version"
require jar native/linux-x86_64/libtrainkit_jni.so native/linux-x86_64/libtrainkit.so.0 \
  native/linux-x86_64/libtrainkit_mpi.so native/linux-x86_64/files.txt org/trainkit/Trainer.class \
  org/trainkit/internal/TrainKitLoader.class META-INF/maven/org.trainkit/trainkit/pom.xml
grep -q "<artifactId>trainkit</artifactId>" "$pom" && grep -q "<groupId>org.trainkit</groupId>" "$pom" &&
  grep -q "<version>$version</version>" "$pom" || fail "the POM lacks org.trainkit:trainkit:$version"
require nupkg TrainKit.nuspec "[Content_Types].xml" lib/netstandard2.0/TrainKit.dll \
  runtimes/linux-x64/native/libtrainkit_csharp.so runtimes/linux-x64/native/libtrainkit.so.0 \
  runtimes/linux-x64/native/libtrainkit_mpi.so
grep -q "<version>$version</version>" "$work/nupkg/TrainKit.nuspec" || fail "the nuspec lacks version $version"
require wheel trainkit/__init__.py trainkit/__main__.py trainkit/_capi.so trainkit/libtrainkit.so.0 \
  trainkit/libtrainkit_mpi.so trainkit/libdnnl.so.2 "trainkit-$version.dist-info/METADATA" \
  "trainkit-$version.dist-info/WHEEL" "trainkit-$version.dist-info/RECORD"

# Every shared object: only $ORIGIN or system folders in its search path, and
# nothing naming the build (bazel-out, the execroot, the sandbox, this checkout).
allowed_runpath='^(\$ORIGIN|/usr/lib/x86_64-linux-gnu/openblas-openmp|/usr/lib/x86_64-linux-gnu/openmpi/lib|/usr/local/cuda/lib64)$'
checkout=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd -P)  # this test's own source tree
build_paths="bazel-out|execroot|/\\.cache/bazel|sandbox|k8-opt|$checkout"
checked=0
while IFS= read -r -d '' library; do
  checked=$((checked + 1))
  name="${library#$work/}"
  for entry in $(readelf -d "$library" | sed -n 's/.*(\(RPATH\|RUNPATH\)).*\[\(.*\)\]/\2/p' | tr ':' ' '); do
    [[ "$entry" =~ $allowed_runpath ]] || fail "$name searches $entry"
  done
  named=$(strings "$library" | grep -E "$build_paths" || true)
  [ -z "$named" ] || fail "$name names the build tree: $(echo "$named" | head -2 | tr '\n' ' ')"
  case "$name" in
    *libtrainkit.so.0*|*libtrainkit.so.$version)
      if readelf -d "$library" | grep NEEDED | grep -Eq 'libmpi|libcuda|libcublas|libcudnn|libnccl'; then
        fail "$name depends on MPI or CUDA: $(readelf -d "$library" | grep NEEDED | tr -s ' ' | tr '\n' ' ')"
      fi ;;
  esac
done < <(find "$work" -type f \( -name '*.so' -o -name '*.so.*' \) -print0)
echo "checked $checked shared objects"
[ "$checked" -ge 12 ] || fail "only $checked shared objects found"
for text in "$work/prefix/$p/lib/pkgconfig/trainkit.pc" "$work/prefix/$p/lib/cmake/trainkit/"*.cmake; do
  grep -Eq "$build_paths|/work/|/root/" "$text" && fail "$text names an absolute build folder"
done
[ "$failures" -eq 0 ] && echo "PASS" || { echo "$failures failure(s)"; exit 1; }
