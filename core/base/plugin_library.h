// Finding and opening trainkit's plugins (libtrainkit_cuda.so,
// libtrainkit_mpi.so): shared objects loaded at run time only when their
// feature is asked for, so libtrainkit itself depends on neither CUDA nor MPI.
#pragma once

#include <string>

namespace tk {

// The directory (with a trailing '/') of the shared object or executable that
// holds this code: libtrainkit.so, or a program linking trainkit statically.
std::string own_directory();

// dlopens plugin `file_name` from the path in environment variable
// `path_variable` when that is set, else from own_directory(), else through
// the dynamic loader's search path, and checks that the plugin was built with
// this library: its function `abi_symbol` must return `abi` (a hash of the
// headers both compile against), so no call goes through a wrong vtable or
// signature. Returns the handle, or null with the reason in *why (naming the
// plugin, with every loader message). The handle is never closed: what the
// plugin made may outlive any caller.
void* open_plugin(const char* file_name, const char* path_variable, const char* abi_symbol, long long abi,
                  std::string* why);

}  // namespace tk
