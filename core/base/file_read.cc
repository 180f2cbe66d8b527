#include "core/base/file_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/base/error.h"

namespace tk {

std::string system_message() { return std::strerror(errno); }

namespace {

// Closes the descriptor on every path out, the throwing ones included.
struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::vector<uint8_t> read_file_bounded(const std::string& path, size_t max_bytes, const char* what) {
  Descriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) fail(ErrorCode::kIo, "cannot open '", path, "': ", system_message());
  struct stat info;
  if (::fstat(file.fd, &info) != 0) fail(ErrorCode::kIo, "cannot stat '", path, "': ", system_message());
  if (S_ISDIR(info.st_mode)) fail(ErrorCode::kIo, "cannot read '", path, "': it is a directory");
  auto too_long = [&] {
    fail(ErrorCode::kCorruptData, "'", path, "' is longer than a ", what, " may be (", max_bytes, " bytes)");
  };
  // A regular file says its size; pipes and devices are read until the cap.
  if (S_ISREG(info.st_mode) && static_cast<uint64_t>(info.st_size) > max_bytes) too_long();
  std::vector<uint8_t> bytes;
  if (S_ISREG(info.st_mode)) bytes.reserve(static_cast<size_t>(info.st_size));
  uint8_t chunk[1 << 16];
  for (;;) {
    ssize_t got = ::read(file.fd, chunk, sizeof(chunk));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail(ErrorCode::kIo, "cannot read '", path, "': ", system_message());
    if (got == 0) break;
    if (bytes.size() + static_cast<size_t>(got) > max_bytes) too_long();
    bytes.insert(bytes.end(), chunk, chunk + got);
  }
  return bytes;
}

}  // namespace tk
