// libFuzzer target: the CSV reader on arbitrary text, with the label found
// by name, by index and as the last column, as classes and as values.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/base/error.h"
#include "core/data/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const char* labels[] = {"", "label", "1"};
  for (int variant = 0; variant < 6; ++variant) {
    tk::CsvOptions options;
    options.label_column = labels[variant % 3];
    options.class_labels = variant < 3;
    options.header = variant != 5;
    try {
      tk::parse_csv("fuzz", text, options);
    } catch (const tk::Error&) {
    }
  }
  return 0;
}
