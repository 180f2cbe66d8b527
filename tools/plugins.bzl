"""Copies of trainkit's plugins beside the programs of a package."""

def mpi_plugin_beside(name = "libtrainkit_mpi.so"):
    """libtrainkit_mpi.so in this package's output folder, where programs that
    link trainkit statically look for it (beside themselves)."""
    native.genrule(
        name = "mpi_plugin_copy",
        srcs = ["//capi:libtrainkit_mpi.so"],
        outs = [name],
        cmd = "cp $< $@",
    )
