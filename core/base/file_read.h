// Reading whole files with a bound: a reader stops as soon as its input
// exceeds what it may hold, so an endless or oversized input (/dev/zero, a
// pipe, a damaged file) fails at once instead of filling memory first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tk {

// The bytes of `path`, at most max_bytes of them. A file that cannot be
// opened or read, or that is a directory, is ErrorCode::kIo with the path and
// the system's reason; one longer than max_bytes is kCorruptData naming
// `what` and the cap.
std::vector<uint8_t> read_file_bounded(const std::string& path, size_t max_bytes, const char* what);

// The system's text for errno, e.g. "No such file or directory".
std::string system_message();

}  // namespace tk
