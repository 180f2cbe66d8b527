// Device selection: the CPU always; a CUDA GPU when the plugin loads and the
// driver has one. Without a GPU (CI) every GPU request fails with a reason;
// with one (the GPU machine) it gives a CUDA backend.
#include "core/backend/device.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/base/error.h"

namespace tk {
namespace {

TEST(DeviceTest, TheCpuIsAlwaysThereAndAutoFallsBackToIt) {
  EXPECT_STREQ(make_backend(kDeviceCpu, 1)->name(), "cpu");
  std::string why;
  const bool gpus = !cuda_devices(&why).empty();
  const std::string automatic = make_backend(kDeviceAuto, 1)->name();
  EXPECT_EQ(automatic.rfind(gpus ? "cuda:0" : "cpu", 0), 0u) << automatic;
}

TEST(DeviceTest, ABadIndexOrNoGpuIsAClearError) {
  try {
    make_backend(-3, 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  std::string why;
  const auto devices = cuda_devices(&why);
  try {
    make_backend(static_cast<int>(devices.size()), 1);
    FAIL() << "a backend for a GPU that does not exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), devices.empty() ? ErrorCode::kUnsupported : ErrorCode::kInvalidArgument) << e.what();
    if (devices.empty()) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  }
}

TEST(DeviceTest, WithoutAGpuTheReasonNamesTheCause) {
  std::string why;
  const auto devices = cuda_devices(&why);
  if (!devices.empty()) {
    for (const DeviceInfo& d : devices) {
      EXPECT_FALSE(d.name.empty());
      EXPECT_GT(d.memory_bytes, 0u);
      EXPECT_GE(d.major, 7);
    }
    GTEST_SKIP() << devices.size() << " GPU(s) present: " << devices[0].name;
  }
  // Where CUDA is installed this test runs with TK_CUDA_LIBRARY set to the
  // plugin: it loads, and the CUDA runtime says why there is no GPU (no driver
  // on CI machines). Elsewhere the reason is that the plugin is missing.
  if (!std::getenv("TK_CUDA_LIBRARY")) {
    EXPECT_NE(why.find("could not be loaded"), std::string::npos) << why;
    return;
  }
  EXPECT_EQ(why.find("could not be loaded"), std::string::npos) << why;
  EXPECT_FALSE(why.empty());
}

}  // namespace
}  // namespace tk
