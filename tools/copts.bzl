"""Compiler flags shared by trainkit's own C++ targets."""

TK_COPTS = [
    "-Werror",
    "-fopenmp",
]

TK_LINKOPTS = ["-fopenmp"]
