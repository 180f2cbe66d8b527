// An Error thrown inside a separately built shared library (hidden
// visibility, loaded with dlopen RTLD_LOCAL, as the CUDA plugin is) must be
// caught as tk::Error here with its code and message: the trainer relies on it
// to turn GPU failures into statuses.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/base/error.h"

namespace tk {
namespace {

TEST(ForeignErrorTest, ErrorsFromAPluginAreCaughtAsErrors) {
  const char* path = std::getenv("THROWER_LIBRARY");
  ASSERT_NE(path, nullptr);
  void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto run = reinterpret_cast<void (*)()>(dlsym(handle, "trainkit_test_throw"));
  ASSERT_NE(run, nullptr);
  try {
    run();
    FAIL() << "nothing was thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kOutOfMemory);
    EXPECT_EQ(std::string(e.what()), "device full");
  } catch (...) {
    FAIL() << "the plugin's tk::Error was not caught as tk::Error";
  }
}

}  // namespace
}  // namespace tk
