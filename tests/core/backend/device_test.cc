// Device selection: the CPU always; a CUDA GPU when the plugin loads and the
// driver has one. Without a GPU (CI) every GPU request fails with a reason;
// with one (the GPU machine) it gives a CUDA backend.
#include "core/backend/device.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
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
  // Without a usable device the plugin is never opened (its CUDA libraries
  // cost hundreds of MB): the driver probe names the cause, and nothing of
  // CUDA's beyond the driver itself is mapped into the process.
  EXPECT_FALSE(why.empty());
  EXPECT_TRUE(why.find("CUDA driver") != std::string::npos) << why;
  std::ifstream maps("/proc/self/maps");
  const std::string mapped((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
  for (const char* library : {"libtrainkit_cuda", "libcublas", "libcudnn", "libnccl", "libcudart"})
    EXPECT_EQ(mapped.find(library), std::string::npos) << library << " is mapped";
}

}  // namespace
}  // namespace tk
