// A plugin-like shared library built with hidden visibility that throws
// tk::Error through a virtual call, as libtrainkit_cuda.so's backend does.
#include "core/backend/backend.h"
#include "core/base/error.h"

namespace {

struct Thrower {
  virtual ~Thrower() = default;
  virtual void run() const { tk::fail(tk::ErrorCode::kOutOfMemory, "device full"); }
};

}  // namespace

extern "C" __attribute__((visibility("default"))) void trainkit_test_throw() { Thrower().run(); }
