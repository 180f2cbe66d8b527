"""A PEP 517 backend for trainkit's wheel (`pip install .`, `pip wheel .`).

It builds the binding with Bazel (//bindings:python_binding), then packs the
package folder into a wheel with the native libraries it loads: _capi.so,
libtrainkit.so.0 and its plugins, and oneDNN (libdnnl.so.2), which
libtrainkit finds beside itself ($ORIGIN). What stays outside the wheel comes
from the system: OpenBLAS, libgomp, zlib, the C and C++ runtimes (and CUDA's
libraries, for the CUDA plugin, which loads only where a GPU is present).
Only the standard library is used, so the build needs no download.
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[2]
NAME = "trainkit"


def _version() -> str:
    text = (ROOT / "packaging" / "version.bzl").read_text()
    match = re.search(r'TK_VERSION = "([^"]+)"', text)
    if not match:
        raise RuntimeError("packaging/version.bzl has no TK_VERSION")
    return match.group(1)


def _tag() -> str:
    py = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    return f"{py}-{py}-linux_x86_64"


def _bazel(*args: str) -> str:
    # pip's isolated build environment puts its own folders first on PATH; Bazel's actions see PATH, so
    # without them the build reuses what `bazel build` made before instead of rebuilding everything.
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if "pip-build-env" not in p)
    bazel = env.get("BAZEL", "bazel")
    return subprocess.run([bazel, *args], cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def _built_package() -> Path:
    """Builds the binding and returns the folder holding the package's files."""
    # The extension is compiled against the python3 on Bazel's PATH: it must be this interpreter's version.
    found = subprocess.run(["python3", "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
                           check=True, stdout=subprocess.PIPE, text=True).stdout.split()
    if tuple(map(int, found)) != sys.version_info[:2]:
        raise RuntimeError(f"the binding would be compiled for python3 {'.'.join(found)} (on PATH), "
                           f"not for this interpreter ({sys.version.split()[0]}): run pip with that python3")
    print("trainkit: building the binding with Bazel (//bindings:python_binding)", file=sys.stderr, flush=True)
    _bazel("build", "//bindings:python_binding")
    return Path(_bazel("info", "bazel-bin")) / "bindings" / "python" / NAME


def _dependency(library: Path, soname: str) -> Path:
    """The file the dynamic loader resolves `soname` to for `library` (ldd)."""
    listing = subprocess.run(["ldd", str(library)], check=True, stdout=subprocess.PIPE, text=True).stdout
    for line in listing.splitlines():
        parts = line.split()
        if parts and parts[0] == soname and len(parts) >= 3 and parts[2].startswith("/"):
            return Path(parts[2]).resolve()
    raise RuntimeError(f"{library.name} does not resolve {soname}: {listing}")


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _metadata(version: str) -> str:
    return "\n".join([
        "Metadata-Version: 2.1",
        f"Name: {NAME}",
        f"Version: {version}",
        "Summary: An embeddable training engine for deep learning (Python binding with its native libraries)",
        "Requires-Python: >=3.8",
        "Requires-Dist: numpy",
        "",
    ])


def get_requires_for_build_wheel(config_settings: Optional[Dict[str, str]] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[Dict[str, str]] = None) -> List[str]:
    return []


def build_wheel(wheel_directory: str, config_settings: Optional[Dict[str, str]] = None,
                metadata_directory: Optional[str] = None) -> str:
    package = _built_package()
    return pack(sorted(p for p in package.iterdir() if p.is_file()), Path(wheel_directory))


def pack(package_files: List[Path], wheel_directory: Path) -> str:
    """Writes the wheel of the package's files (and the oneDNN they load) into wheel_directory."""
    version = _version()
    files: Dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as scratch:
        natives = [p for p in package_files if p.name.endswith(".so") or ".so." in p.name]
        libtrainkit = next(p for p in package_files if p.name == "libtrainkit.so.0")
        natives.append(_dependency(libtrainkit, "libdnnl.so.2"))
        for path in package_files:
            if path not in natives:
                files[f"{NAME}/{path.name}"] = path.read_bytes()
        for path in natives:
            name = "libdnnl.so.2" if path.name.startswith("libdnnl") else path.name
            # Shipped without debug sections, which name the build tree's relative paths.
            copy = Path(scratch) / name
            shutil.copyfile(path, copy)
            subprocess.run(["strip", "--strip-debug", str(copy)], check=True)
            files[f"{NAME}/{name}"] = copy.read_bytes()
    dist_info = f"{NAME}-{version}.dist-info"
    files[f"{dist_info}/METADATA"] = _metadata(version).encode()
    files[f"{dist_info}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: trainkit wheel_backend\n"
                                   f"Root-Is-Purelib: false\nTag: {_tag()}\n").encode()
    files[f"{dist_info}/top_level.txt"] = f"{NAME}\n".encode()
    record = [_record_line(name, data) for name, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel_name = f"{NAME}-{version}-{_tag()}.whl"
    with zipfile.ZipFile(wheel_directory / wheel_name, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            executable = name.endswith(".so") or ".so." in name
            info.external_attr = (0o755 if executable else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)
    print(f"trainkit: wrote {wheel_name}", file=sys.stderr, flush=True)
    return wheel_name


def build_sdist(sdist_directory: str, config_settings: Optional[Dict[str, str]] = None) -> str:
    """The tracked source files (git ls-files), as trainkit-VERSION.tar.gz."""
    version = _version()
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, stdout=subprocess.PIPE).stdout
    name = f"{NAME}-{version}"
    with tarfile.open(Path(sdist_directory) / f"{name}.tar.gz", "w:gz") as sdist:
        for relative in filter(None, tracked.decode().split("\0")):
            sdist.add(ROOT / relative, arcname=f"{name}/{relative}")
        info = tarfile.TarInfo(f"{name}/PKG-INFO")
        data = _metadata(version).encode()
        info.size = len(data)
        sdist.addfile(info, io.BytesIO(data))
    return f"{name}.tar.gz"


if __name__ == "__main__":
    # For the build's own wheel target: wheel_backend.py pack OUT_DIR FILE... (the package's files).
    if len(sys.argv) < 4 or sys.argv[1] != "pack":
        sys.exit("usage: wheel_backend.py pack OUT_DIR FILE...")
    print(pack([Path(p) for p in sys.argv[3:]], Path(sys.argv[2])))
