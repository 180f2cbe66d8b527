// What a plugin's exported entry points do with errors (libtrainkit_cuda.so,
// libtrainkit_mpi.so): no exception leaves them; each becomes an ErrorCode
// value and a message written into the caller's buffer (NUL-terminated,
// truncated). Included by the plugins only.
#pragma once

#include <cstddef>
#include <cstdio>
#include <exception>
#include <new>

#include "core/base/error.h"

#define TK_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

namespace tk {

inline void write_plugin_message(const char* text, char* message, size_t capacity) {
  if (!message || capacity == 0) return;
  std::snprintf(message, capacity, "%s", text);
}

// Runs body(); returns 0, or the error's code with its message. `plugin`
// names the plugin in the message of an exception that is no std::exception.
template <typename Body>
int plugin_guarded(const char* plugin, char* message, size_t capacity, const Body& body) {
  try {
    body();
    return 0;
  } catch (const Error& e) {
    write_plugin_message(e.what(), message, capacity);
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    write_plugin_message("out of host memory", message, capacity);
    return static_cast<int>(ErrorCode::kOutOfMemory);
  } catch (const std::exception& e) {
    write_plugin_message(e.what(), message, capacity);
    return static_cast<int>(ErrorCode::kInternal);
  } catch (...) {
    char text[128];
    std::snprintf(text, sizeof text, "unknown error in %s", plugin);
    write_plugin_message(text, message, capacity);
    return static_cast<int>(ErrorCode::kInternal);
  }
}

}  // namespace tk
