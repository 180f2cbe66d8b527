#!/bin/sh
# Writes the ABI of a libtrainkit.so (libabigail's abidw) in the form that
# capi/abi/libtrainkit.abi is kept in: no paths of the machine or build
# directory, no source lines, no DT_NEEDED list, types trainkit.h does not
# define left out (capi/abi/dump.supp).
# Usage: abi_dump.sh libtrainkit.so dump.supp out.abi
set -eu
abidw --no-corpus-path --no-comp-dir-path --no-show-locs --no-elf-needed --exported-interfaces-only \
  --type-id-style hash --suppressions "$2" --out-file "$3" "$1"
