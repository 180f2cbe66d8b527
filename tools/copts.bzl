"""Compiler flags shared by trainkit's own C++ targets."""

TK_COPTS = [
    "-Werror",
    "-fopenmp",
    # Kernels are plain loops: -O3 vectorizes them, and without errno a
    # std::sqrt does not block that. NaN and Inf semantics stay IEEE.
    "-O3",
    "-fno-math-errno",
    # Floating-point operations raise no traps trainkit would catch, so a
    # loop may compute both sides of a select (the vectorizable exp and tanh
    # of core/backend/cpu/vector_math.h) instead of branching. Values, NaN
    # and Inf are unchanged.
    "-fno-trapping-math",
    # No fused multiply-adds the source does not write: the AVX2 clones of
    # the CPU loops (TK_CPU_CLONES) then round exactly as the baseline copies
    # do, so replicas on machines with and without AVX2 apply identical updates.
    "-ffp-contract=off",
]

TK_LINKOPTS = ["-fopenmp"]
