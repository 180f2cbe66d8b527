"""Compiler flags shared by trainkit's own C++ targets."""

TK_COPTS = [
    "-Werror",
    "-fopenmp",
    # Kernels are plain loops: -O3 vectorizes them, and without errno a
    # std::sqrt does not block that. NaN and Inf semantics stay IEEE.
    "-O3",
    "-fno-math-errno",
]

TK_LINKOPTS = ["-fopenmp"]
