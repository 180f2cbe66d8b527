#!/bin/sh
# Lays out an installation prefix of trainkit (relocatable: nothing inside
# names the folder it was built or installed in):
#   include/trainkit/trainkit.h
#   lib/libtrainkit.so.VERSION, its SONAME link libtrainkit.so.MAJOR and the
#     link libtrainkit.so for the linker; the plugins beside it, where
#     libtrainkit looks for them
#   lib/pkgconfig/trainkit.pc, lib/cmake/trainkit/trainkitConfig*.cmake
# Usage: make_prefix.sh OUT VERSION PACKAGING_DIR HEADER LIBTRAINKIT [PLUGIN...]
set -eu
out="$1" version="$2" templates="$3" header="$4" library="$5"
shift 5
major="${version%%.*}"
minor="${version#*.}"; minor="${minor%%.*}"
mkdir -p "$out/include/trainkit" "$out/lib/pkgconfig" "$out/lib/cmake/trainkit"
cp "$header" "$out/include/trainkit/trainkit.h"
cp "$library" "$out/lib/libtrainkit.so.$version"
ln -sf "libtrainkit.so.$version" "$out/lib/libtrainkit.so.$major"
ln -sf "libtrainkit.so.$major" "$out/lib/libtrainkit.so"
for plugin in "$@"; do cp "$plugin" "$out/lib/"; done
chmod 0644 "$out/include/trainkit/trainkit.h"
# Shipped without debug sections, which name the build tree's relative paths.
for library in "$out"/lib/*.so*; do
  [ -L "$library" ] || { chmod u+w "$library" && strip --strip-debug "$library"; }
done
chmod 0755 "$out"/lib/*.so.* "$out"/lib/libtrainkit_*.so
fill() { sed -e "s/@VERSION@/$version/g" -e "s/@MAJOR@/$major/g" -e "s/@MINOR@/$minor/g" "$1" > "$2"; }
fill "$templates/trainkit.pc.in" "$out/lib/pkgconfig/trainkit.pc"
fill "$templates/trainkitConfig.cmake.in" "$out/lib/cmake/trainkit/trainkitConfig.cmake"
fill "$templates/trainkitConfigVersion.cmake.in" "$out/lib/cmake/trainkit/trainkitConfigVersion.cmake"
