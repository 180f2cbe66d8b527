"""CUDA targets that exist only where the toolkit does (@local_cuda)."""

load("@local_cuda//:defs.bzl", "CUDA_FOUND", "NVCC")

# sm_80 (A100) and sm_90 (H100/H200) machine code, plus PTX for later GPUs.
NVCC_FLAGS = " ".join([
    "-std=c++17",
    "-O3",
    "--expt-relaxed-constexpr",
    "-Xcompiler -fPIC,-fvisibility=hidden",
    "-gencode arch=compute_80,code=sm_80",
    "-gencode arch=compute_90,code=sm_90",
    "-gencode arch=compute_90,code=compute_90",
])

def cuda_library(name, cu_srcs, cu_hdrs, srcs, hdrs, deps, copts = [], visibility = None):
    """A cc_library of host sources plus .cu files compiled by NVCC (one
    genrule each, into PIC objects). Without CUDA it is an empty library."""
    if not CUDA_FOUND:
        native.cc_library(name = name, visibility = visibility)
        return
    objects = []
    for src in cu_srcs:
        stem = name + "_" + src.replace("/", "_").replace(".cu", "")
        native.genrule(
            name = stem,
            srcs = [src] + cu_hdrs,
            outs = [stem + ".pic.o"],
            # nvcc names its temporaries after its process id, which the
            # sandboxes' own PID namespaces repeat: each run gets its own TMPDIR.
            cmd = ("scratch=$$(mktemp -d /tmp/nvcc.XXXXXXXX) && " +
                   "TMPDIR=$$scratch {nvcc} {flags} -I. -c $(location {src}) -o $@; " +
                   "status=$$?; rm -rf $$scratch; exit $$status").format(nvcc = NVCC, flags = NVCC_FLAGS, src = src),
            message = "NVCC " + src,
        )
        objects.append(":" + stem + ".pic.o")
    native.cc_library(
        name = name,
        srcs = srcs + objects,
        hdrs = hdrs,
        copts = copts,
        deps = deps + ["@local_cuda//:cuda"],
        alwayslink = True,  # the plugin's entry points are referenced by name only
        visibility = visibility,
    )

def cuda_only(targets):
    """`targets` where CUDA was found, else nothing (for data and deps lists)."""
    return targets if CUDA_FOUND else []

def cuda_plugin(name, deps, linkopts):
    """The CUDA backend's shared library, where CUDA was found."""
    if CUDA_FOUND:
        native.cc_binary(name = name, deps = deps, linkopts = linkopts, linkshared = 1)

def cuda_plugin_env():
    """Test env pointing the device loader at the built plugin (empty without CUDA)."""
    return {"TK_CUDA_LIBRARY": "$(rootpath //capi:libtrainkit_cuda.so)"} if CUDA_FOUND else {}
