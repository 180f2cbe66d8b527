// The error code a call throws, for tests that check which error it is.
#pragma once

#include <functional>

#include "core/base/error.h"

namespace tk {

// The code of the tk::Error `fn` throws; kInternal when it throws none.
inline ErrorCode code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;
}

}  // namespace tk
