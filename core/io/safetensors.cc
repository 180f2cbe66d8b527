#include "core/io/safetensors.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <system_error>

#include "core/base/error.h"
#include "core/base/file_read.h"

namespace tk {
namespace {

using Json = nlohmann::json;

// Checkpoints and weight files larger than this are refused unread.
constexpr size_t kMaxSafetensorsBytes = size_t{1} << 40;

// Recognized safetensors dtypes; those trainkit cannot hold are refused by
// name, or kept as foreign (with their element size, to check the offsets).
bool dtype_from_name(const std::string& name, DType* dtype, bool* known, int64_t* foreign_size) {
  static const std::pair<const char*, DType> supported[] = {
      {"F32", DType::kF32}, {"F64", DType::kF64}, {"F16", DType::kF16},
      {"BF16", DType::kBF16}, {"I32", DType::kI32}, {"U8", DType::kU8}};
  static const std::pair<const char*, int64_t> other_known[] = {
      {"BOOL", 1}, {"I8", 1}, {"I16", 2}, {"U16", 2}, {"U32", 4}, {"I64", 8}, {"U64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (const auto& [text, value] : supported)
    if (name == text) {
      *dtype = value;
      *known = true;
      return true;
    }
  *known = false;
  for (const auto& [text, size] : other_known)
    if (name == text) {
      *known = true;
      *foreign_size = size;
    }
  return false;
}

uint64_t read_le64(const uint8_t* p) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

std::string host_name() {
  char name[256] = {0};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  for (char* p = name; *p; ++p)
    if (*p == '-' || *p == '/') *p = '_';
  return name;
}

// Temporaries of earlier saves to the same file, written on this host by a
// process that is gone (killed mid-save), are deleted so crashes do not fill
// the disk. Another host's temporaries (a shared folder) are left alone.
void remove_abandoned_temporaries(const std::string& folder, const std::string& name) {
  DIR* dir = ::opendir(folder.c_str());
  if (!dir) return;
  const std::string prefix = name + ".tmp-";
  const std::string host = "-" + host_name() + "-";
  while (dirent* entry = ::readdir(dir)) {
    const std::string file = entry->d_name;
    if (file.compare(0, prefix.size(), prefix) != 0) continue;
    char* end = nullptr;
    const long pid = std::strtol(file.c_str() + prefix.size(), &end, 10);
    if (pid <= 0 || file.compare(static_cast<size_t>(end - file.c_str()), host.size(), host) != 0) continue;
    if (pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      ::unlink((folder + "/" + file).c_str());
  }
  ::closedir(dir);
}

}  // namespace

const char* safetensors_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "F32";
    case DType::kF64: return "F64";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
    case DType::kI32: return "I32";
    case DType::kU8: return "U8";
  }
  return "?";
}

const StoredTensor* SafetensorsFile::find(const std::string& name) const {
  for (const StoredTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

SafetensorsFile parse_safetensors(const std::string& what, const uint8_t* data, size_t size, bool keep_foreign) {
  if (size < 8) fail(ErrorCode::kCorruptData, what, ": too short for a safetensors header (", size, " bytes)");
  const uint64_t header_size = read_le64(data);
  if (header_size > kMaxSafetensorsHeader)
    fail(ErrorCode::kCorruptData, what, ": header length ", header_size, " exceeds the limit of ", kMaxSafetensorsHeader);
  if (header_size > size - 8)
    fail(ErrorCode::kCorruptData, what, ": header length ", header_size, " runs past the end of the file (", size, " bytes)");
  const uint8_t* header_begin = data + 8;
  // Safetensors headers are three levels deep; anything deeper is refused
  // while parsing (not stored), and so are duplicate tensor names.
  bool too_deep = false;
  std::string duplicate;
  std::set<std::string> names;
  Json::parser_callback_t check = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth > 4) {
      too_deep = true;
      return false;
    }
    if (event == Json::parse_event_t::key && depth == 1 && !names.insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  Json header = Json::parse(header_begin, header_begin + header_size, check, false);
  if (header.is_discarded()) fail(ErrorCode::kCorruptData, what, ": the header is not well-formed JSON");
  if (too_deep) fail(ErrorCode::kCorruptData, what, ": the header nests deeper than safetensors allows");
  if (!duplicate.empty()) fail(ErrorCode::kCorruptData, what, ": the header names '", duplicate, "' twice");
  if (!header.is_object()) fail(ErrorCode::kCorruptData, what, ": the header is not a JSON object");

  SafetensorsFile file;
  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t begin, end;
    std::string foreign_dtype;  // set for a dtype trainkit does not hold
  };
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const Json& value = it.value();
    if (name == "__metadata__") {
      if (!value.is_object()) fail(ErrorCode::kCorruptData, what, ": __metadata__ is not an object");
      for (auto m = value.begin(); m != value.end(); ++m) {
        if (!m.value().is_string())
          fail(ErrorCode::kCorruptData, what, ": metadata value '", m.key(), "' is not a string");
        file.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!value.is_object() || value.size() != 3 || !value.contains("dtype") || !value.contains("shape") ||
        !value.contains("data_offsets"))
      fail(ErrorCode::kCorruptData, what, ": tensor '", name, "' needs exactly dtype, shape and data_offsets");
    const Json& dtype = value["dtype"];
    const Json& shape = value["shape"];
    const Json& offsets = value["data_offsets"];
    if (!dtype.is_string()) fail(ErrorCode::kCorruptData, what, ": tensor '", name, "' has a non-string dtype");
    Entry entry{name, DType::kF32, {}, 0, 0, {}};
    bool known = false;
    int64_t element_size = 0;
    if (!dtype_from_name(dtype.get<std::string>(), &entry.dtype, &known, &element_size)) {
      if (!known || !keep_foreign)
        fail(known ? ErrorCode::kUnsupported : ErrorCode::kCorruptData, what, ": tensor '", name, "' has ",
             known ? "unsupported" : "unknown", " dtype '", dtype.get<std::string>(), "'");
      entry.foreign_dtype = dtype.get<std::string>();
    } else {
      element_size = static_cast<int64_t>(dtype_size(entry.dtype));
    }
    if (!shape.is_array() || shape.size() > static_cast<size_t>(kMaxRank))
      fail(ErrorCode::kCorruptData, what, ": tensor '", name, "' has a bad shape (an array of at most ", kMaxRank,
           " extents)");
    int64_t bytes = element_size;
    for (const Json& extent : shape) {
      if (!extent.is_number_unsigned() || extent.get<uint64_t>() > static_cast<uint64_t>(kMaxBytes))
        fail(ErrorCode::kCorruptData, what, ": tensor '", name, "' has a bad extent");
      entry.shape.push_back(extent.get<int64_t>());
      if (__builtin_mul_overflow(bytes, entry.shape.back(), &bytes) || bytes > kMaxBytes)
        fail(ErrorCode::kCorruptData, what, ": tensor '", name, "' has a shape ", shape.dump(), " too large for its dtype");
    }
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      fail(ErrorCode::kCorruptData, what, ": tensor '", name, "' has bad data_offsets");
    entry.begin = offsets[0].get<uint64_t>();
    entry.end = offsets[1].get<uint64_t>();
    if (entry.end < entry.begin || entry.end - entry.begin != static_cast<uint64_t>(bytes))
      fail(ErrorCode::kCorruptData, what, ": tensor '", name, "' has data_offsets [", entry.begin, ", ", entry.end,
           "] for ", bytes, " bytes of ", dtype.get<std::string>(), " ", shape.dump());
    entries.push_back(std::move(entry));
  }

  // The data must be exactly the tensors, back to back from offset 0.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const uint64_t data_size = size - 8 - header_size;
  uint64_t expected = 0;
  for (const Entry& e : entries) {
    if (e.begin != expected)
      fail(ErrorCode::kCorruptData, what, ": tensor '", e.name, "' starts at ", e.begin, " but the previous data ends at ",
           expected, e.begin < expected ? " (overlap)" : " (gap)");
    if (e.end > data_size)
      fail(ErrorCode::kCorruptData, what, ": tensor '", e.name, "' ends at ", e.end, ", past the ", data_size,
           " bytes of data (truncated file?)");
    expected = e.end;
  }
  if (expected != data_size)
    fail(ErrorCode::kCorruptData, what, ": ", data_size - expected, " trailing bytes after the last tensor");

  const uint8_t* payload = header_begin + header_size;
  for (Entry& e : entries) {
    if (!e.foreign_dtype.empty())
      file.foreign.push_back({e.name, e.foreign_dtype, e.shape});
    else
      file.tensors.push_back({e.name, e.dtype, e.shape, std::vector<uint8_t>(payload + e.begin, payload + e.end)});
  }
  return file;
}

SafetensorsFile read_safetensors(const std::string& path, bool keep_foreign) {
  const std::vector<uint8_t> bytes = read_file_bounded(path, kMaxSafetensorsBytes, "safetensors file");
  return parse_safetensors("'" + path + "'", bytes.data(), bytes.size(), keep_foreign);
}

std::vector<uint8_t> serialize_safetensors(const std::vector<StoredTensor>& tensors,
                                           const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  for (const StoredTensor& t : tensors)
    if (t.name == "__metadata__" || !names.insert(t.name).second)
      fail(ErrorCode::kInvalidArgument, "cannot save two tensors named '", t.name, "' (rename a node)");
  uint64_t offset = 0;
  for (const StoredTensor& t : tensors) {
    header[t.name] = {{"dtype", safetensors_dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // align the data to 8 bytes, as the reference writer does
  std::vector<uint8_t> out(8 + text.size() + offset);
  const uint64_t length = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(length >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  size_t at = 8 + text.size();
  for (const StoredTensor& t : tensors) {
    if (!t.bytes.empty()) std::memcpy(out.data() + at, t.bytes.data(), t.bytes.size());
    at += t.bytes.size();
  }
  return out;
}

void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes) {
  const size_t slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::random_device entropy;
  const std::string temp = path + ".tmp-" + std::to_string(::getpid()) + "-" + host_name() + "-" + std::to_string(entropy());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail(ErrorCode::kIo, "cannot create '", temp, "': ", system_message());
  auto abandon = [&](const char* step) {
    const std::string message = system_message();
    ::close(fd);
    ::unlink(temp.c_str());
    fail(ErrorCode::kIo, "cannot ", step, " '", temp, "': ", message);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t wrote = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) abandon("write");
    done += static_cast<size_t>(wrote);
  }
  if (::fsync(fd) != 0) abandon("fsync");
  if (::close(fd) != 0) {
    const std::string message = system_message();
    ::unlink(temp.c_str());
    fail(ErrorCode::kIo, "cannot close '", temp, "': ", message);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string message = system_message();
    ::unlink(temp.c_str());
    fail(ErrorCode::kIo, "cannot rename '", temp, "' to '", path, "': ", message);
  }
  // The rename is durable once the folder's entry is on disk.
  int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  remove_abandoned_temporaries(folder, path.substr(slash == std::string::npos ? 0 : slash + 1));
}

}  // namespace tk
