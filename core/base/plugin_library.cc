#include "core/base/plugin_library.h"

#include <dlfcn.h>
#include <errno.h>  // program_invocation_name
#include <limits.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace tk {

std::string own_directory() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&own_directory), &info) || !info.dli_fname) return "";
  std::string path = info.dli_fname;
  // Linked into the program itself, the loader names it by argv[0], which may
  // be a bare name found on PATH or relative to a folder since left: the
  // kernel knows the real file.
  if (std::strcmp(info.dli_fname, program_invocation_name) == 0 || path.find('/') == std::string::npos) {
    char real[PATH_MAX];
    const ssize_t length = readlink("/proc/self/exe", real, sizeof real - 1);
    if (length <= 0) return "";
    path.assign(real, static_cast<size_t>(length));
  }
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

void* open_plugin(const char* file_name, const char* path_variable, const char* abi_symbol, long long abi,
                  std::string* why) {
  std::string tried;
  void* handle = nullptr;
  auto attempt = [&](const std::string& path) {
    if (handle || path.empty()) return;
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) tried += std::string(tried.empty() ? "" : "; ") + dlerror();
  };
  const char* explicit_path = std::getenv(path_variable);
  if (explicit_path && *explicit_path) {
    attempt(explicit_path);
  } else {
    attempt(own_directory() + file_name);
    attempt(file_name);
  }
  if (!handle) {
    *why = std::string(file_name) + " could not be loaded (" + tried + ")";
    return nullptr;
  }
  using AbiFn = long long (*)();
  auto plugin_abi = reinterpret_cast<AbiFn>(dlsym(handle, abi_symbol));
  if (!plugin_abi) {
    *why = std::string(file_name) + " lacks trainkit's plugin entry points";
    return nullptr;
  }
  if (plugin_abi() != abi) {
    *why = std::string(file_name) + " is from another trainkit build (plugin ABI " + std::to_string(plugin_abi()) +
           ", expected " + std::to_string(abi) + ")";
    return nullptr;
  }
  return handle;
}

}  // namespace tk
