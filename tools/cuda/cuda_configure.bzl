"""Finds the CUDA toolkit (nvcc, cudart, cuBLASLt, cuDNN, NCCL) for @local_cuda.

With the toolkit (at $CUDA_PATH, else /usr/local/cuda), @local_cuda//:defs.bzl
sets CUDA_FOUND = True and NVCC to its nvcc, and @local_cuda//:cuda holds the
headers and link flags. Without it CUDA_FOUND is False and the CUDA backend
is not built; everything else builds and runs on the CPU as before."""

_LIBS = ["cudart", "cublasLt", "cublas", "cudnn", "nccl"]
_HEADERS = ["cuda_runtime.h", "cublasLt.h", "cudnn.h", "nccl.h"]

def _cuda_configure_impl(ctx):
    root = ctx.os.environ.get("CUDA_PATH", "/usr/local/cuda")
    nvcc = ctx.path(root + "/bin/nvcc")
    found = nvcc.exists
    for header in _HEADERS:
        found = found and ctx.path(root + "/include/" + header).exists
    for lib in _LIBS:
        found = found and ctx.path(root + "/lib64/lib" + lib + ".so").exists
    if found:
        ctx.symlink(root + "/include", "include")
        build = """
package(default_visibility = ["//visibility:public"])

# Headers and link flags for code compiled by the host compiler; kernels
# compile with NVCC (see //tools/cuda:defs.bzl).
cc_library(
    name = "cuda",
    hdrs = glob(["include/**"]),
    includes = ["include"],
    linkopts = [
        "-L{root}/lib64",
        "-Wl,-rpath,{root}/lib64",
    ] + ["-l" + lib for lib in {libs}],
)
""".format(root = root, libs = repr(_LIBS))
    else:
        build = """
package(default_visibility = ["//visibility:public"])

cc_library(name = "cuda")
"""
    ctx.file("BUILD", build)
    ctx.file("defs.bzl", "CUDA_FOUND = {found}\nNVCC = {nvcc}\nCUDA_ROOT = {root}\n".format(
        found = found,
        nvcc = repr(str(nvcc) if found else ""),
        root = repr(root if found else ""),
    ))

cuda_configure = repository_rule(
    implementation = _cuda_configure_impl,
    environ = ["CUDA_PATH"],
    local = True,
)
