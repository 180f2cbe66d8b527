#include "core/data/csv.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/base/error.h"

namespace tk {
namespace {

struct Row {
  int64_t line = 0;  // 1-based
  std::vector<std::string> fields;
};

// Splits the text into rows of fields (RFC 4180 quoting: "a,b" and "" for a quote).
std::vector<Row> split_rows(std::string_view text, char delimiter, const std::string& path) {
  std::vector<Row> rows;
  Row row;
  std::string field;
  int64_t line = 1;
  bool quoted = false, any = false, was_quoted = false;
  row.line = line;
  auto end_field = [&] {
    row.fields.push_back(std::move(field));
    field.clear();
    was_quoted = false;
  };
  auto end_row = [&] {
    // A blank line (one empty, unquoted field) is no row.
    if (any) {
      end_field();
      rows.push_back(std::move(row));
    }
    row = Row{};
    field.clear();
    any = was_quoted = false;
    row.line = line + 1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = any = true;
    } else if (c == delimiter) {
      any = true;
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_row();
      ++line;
    } else {
      if (was_quoted && c != ' ' && c != '\t')
        fail(ErrorCode::kCorruptData, "'", path, "' line ", line, ": text after a closing quote");
      if (!was_quoted) field.push_back(c);
      if (c != ' ' && c != '\t') any = true;
    }
  }
  if (quoted) fail(ErrorCode::kCorruptData, "'", path, "' line ", row.line, ": a quoted field is not closed");
  end_row();
  return rows;
}

std::string_view trimmed(const std::string& text) {
  size_t begin = 0, end = text.size();
  while (begin < end && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
  while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t')) --end;
  return std::string_view(text).substr(begin, end - begin);
}

// The field as a finite number, or kCorruptData naming where it is.
double parse_number(const std::string& field, const std::string& path, int64_t line, size_t column,
                    const std::string& column_name) {
  const std::string text(trimmed(field));
  auto where = [&] {
    return "'" + path + "' line " + std::to_string(line) + ", column " + std::to_string(column + 1) +
           (column_name.empty() ? "" : " ('" + column_name + "')");
  };
  if (text.empty()) fail(ErrorCode::kCorruptData, where(), ": the value is empty");
  // from_chars reads the C locale's numbers, whatever locale the host set.
  const char* begin = text.c_str() + (text[0] == '+' ? 1 : 0);
  double value = 0;
  const auto [end, error] = std::from_chars(begin, text.c_str() + text.size(), value);
  if (error == std::errc::invalid_argument || end != text.c_str() + text.size())
    fail(ErrorCode::kCorruptData, where(), ": '", text, "' is not a number");
  if (error == std::errc::result_out_of_range || !std::isfinite(value) || std::abs(value) > 3.4e38)
    fail(ErrorCode::kCorruptData, where(), ": '", text, "' is not a finite f32 number");
  return value;
}

bool all_digits(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

CsvTable parse_csv(const std::string& path, std::string_view text, const CsvOptions& options) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte-order mark
  std::vector<Row> rows = split_rows(text, options.delimiter, path);
  if (rows.empty()) fail(ErrorCode::kCorruptData, "'", path, "' is empty: no header and no rows");
  std::vector<std::string> names;
  size_t first = 0;
  if (options.header) {
    for (const std::string& name : rows[0].fields) names.emplace_back(trimmed(name));
    first = 1;
  }
  if (rows.size() == first) fail(ErrorCode::kCorruptData, "'", path, "' has a header but no data rows");
  const size_t columns = options.header ? names.size() : rows[first].fields.size();
  if (columns < (options.labelled ? 2u : 1u))
    fail(ErrorCode::kCorruptData, "'", path, "' line ", rows[0].line, " has ", columns,
         " column; a dataset needs at least one feature column and a label column");

  size_t label = columns - 1;
  if (!options.labelled) {
    // No label, unless the header names the training file's label column.
    label = columns;
    for (size_t c = 0; c < names.size() && !options.label_column.empty(); ++c)
      if (names[c] == options.label_column) label = c;
  } else if (!options.label_column.empty()) {
    size_t found = columns;
    for (size_t c = 0; c < names.size() && found == columns; ++c)
      if (names[c] == options.label_column) found = c;
    if (found == columns && all_digits(options.label_column)) {
      const unsigned long long index = std::strtoull(options.label_column.c_str(), nullptr, 10);
      if (index >= columns)
        fail(ErrorCode::kInvalidArgument, "'", path, "' has ", columns, " columns, no column ", index,
             " (0-based) for the label");
      found = static_cast<size_t>(index);
    }
    if (found == columns) {
      std::string list;
      for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
      fail(ErrorCode::kInvalidArgument, "'", path, "' has no label column '", options.label_column, "'",
           options.header ? " (its columns: " + list + ")" : std::string(" (it has no header row: give an index)"));
    }
    label = found;
  }

  CsvTable table;
  table.samples = static_cast<int64_t>(rows.size() - first);
  table.features_per_row = static_cast<int64_t>(label < columns ? columns - 1 : columns);
  table.labelled = options.labelled;
  std::vector<float>& features = table.features;
  features.reserve(static_cast<size_t>(table.samples * table.features_per_row));
  std::vector<int32_t>& classes = table.classes;
  std::vector<float>& values = table.values;
  for (size_t r = first; r < rows.size(); ++r) {
    const Row& row = rows[r];
    if (row.fields.size() != columns)
      fail(ErrorCode::kCorruptData, "'", path, "' line ", row.line, " has ", row.fields.size(), " fields, ",
           options.header ? "the header has " : "the first row has ", columns);
    for (size_t c = 0; c < columns; ++c) {
      const std::string& name = c < names.size() ? names[c] : std::string();
      const double value = parse_number(row.fields[c], path, row.line, c, name);
      if (c != label) {
        features.push_back(static_cast<float>(value));
      } else if (!options.labelled) {
        // The training file's label column, not read.
      } else if (!options.class_labels) {
        values.push_back(static_cast<float>(value));
      } else {
        if (value < 0 || value != std::floor(value) || value > INT32_MAX)
          fail(ErrorCode::kCorruptData, "'", path, "' line ", row.line, ", column ", c + 1, ": label '",
               std::string(trimmed(row.fields[c])), "' is not a class index (a whole number >= 0)");
        classes.push_back(static_cast<int32_t>(value));
      }
    }
  }
  return table;
}

}  // namespace tk
