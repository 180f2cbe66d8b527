// Typed errors thrown inside the core. The C API turns each into a tk_status
// plus a message; nothing else may escape to callers.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace tk {

// Values mirror tk_status in capi/trainkit.h (checked there by static_assert).
enum class ErrorCode : int {
  kInvalidArgument = 1,
  kNullArgument = 2,
  kShapeMismatch = 3,
  kDtypeMismatch = 4,
  kOutOfMemory = 5,
  kNonFinite = 6,
  kIo = 7,
  kCorruptData = 8,
  kUnsupported = 9,
  kInternal = 10,
  kCommunication = 11,
  kCancelled = 12,  // a cancel request ended the call between steps
  kCallback = 13,   // a host callback asked to abort
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// Builds a message from streamable parts: fail(ErrorCode::kShapeMismatch, "got ", n).
template <typename... Parts>
[[noreturn]] void fail(ErrorCode code, const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw Error(code, message.str());
}

}  // namespace tk
