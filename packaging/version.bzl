"""trainkit's release version, as in capi/trainkit.h (TK_VERSION_*); the
package file names carry it (//tests/packaging checks that the two agree)."""

TK_VERSION = "0.2.0"
