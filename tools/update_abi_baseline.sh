#!/bin/sh
# Refreshes capi/abi/libtrainkit.abi from a fresh build, after a deliberate
# ABI change (or an append, to keep the baseline current). Run from the
# repository root; commit the new baseline with the change that needed it.
set -eu
bazel build //capi:libtrainkit.so
tools/abi_dump.sh bazel-bin/capi/libtrainkit.so capi/abi/dump.supp capi/abi/libtrainkit.abi
echo "wrote capi/abi/libtrainkit.abi"
