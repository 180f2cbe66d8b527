"""`python -m trainkit --version`: the package's and the native library's versions,
and where the native library was loaded from; `--gpus` adds what the CUDA probe found."""
from __future__ import annotations

import argparse
import os

from . import capi, gpu_status, version


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m trainkit", description="trainkit for Python")
    parser.add_argument("--version", action="store_true", help="print the versions and the native library's folder")
    parser.add_argument("--gpus", action="store_true", help="print the usable CUDA GPUs, or why there are none")
    args = parser.parse_args()
    if not (args.version or args.gpus):
        parser.print_help()
        return
    if args.version:
        print(f"trainkit {version()} from {os.path.dirname(capi.__file__)}")
    if args.gpus:
        count, reason = gpu_status()
        print(f"GPUs: {count}" + (f" ({reason})" if count == 0 else ""))


if __name__ == "__main__":
    main()
