#!/bin/sh
# Runs the dlopen host against the built library, by absolute path.
set -eu
exec "$1" "$(pwd)/$2"
