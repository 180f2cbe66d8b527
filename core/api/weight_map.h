// Weights from other tools: a safetensors file whose tensors carry the
// other tool's names (and sometimes a transposed layout) loaded into a
// trainer through a name map, strictly or not, with a report of what was
// loaded, missing, unexpected and mis-shaped, so a pretrained body loads
// under a new head.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/api/trainer.h"
#include "core/base/shape.h"

namespace tk {

struct WeightSource {
  std::string file_name;
  bool transpose = false;  // the file holds the 2-D tensor as [in, out]
};

// trainkit name ("<node>.<param>") -> the file's tensor; a trainer tensor
// not in the map is looked up under its own name.
using WeightMap = std::map<std::string, WeightSource>;

// {"<node>.<param>": "file.name"} or {"<node>.<param>": {"name": "file.name",
// "transpose": true}}; kInvalidArgument naming the bad entry.
WeightMap parse_weight_map(const std::string& json);

struct WeightMismatch {
  std::string name, file_name;
  Shape expected, found;
};

struct WeightImportReport {
  std::vector<std::string> loaded;      // trainkit names given values
  std::vector<std::string> missing;     // trainkit tensors the file did not feed
  std::vector<std::string> unexpected;  // file tensors nothing took
  std::vector<WeightMismatch> mismatched;
  std::string to_json() const;
};

// The file's tensors for one plan, validated and converted, before any
// trainer changes: strict refuses missing, unexpected and mis-shaped
// tensors; otherwise they are reported and the trainer keeps its own values
// for them. A map entry naming a tensor the file lacks, or one whose shape
// does not fit (transposed or not), is refused either way.
class WeightImport {
 public:
  WeightImport(const Plan& plan, const std::string& path, const WeightMap& map, bool strict);
  // Sets every tensor found; the same import may go to each replica.
  void apply(Trainer& trainer) const;
  const WeightImportReport& report() const { return report_; }

 private:
  struct Found {
    bool state;
    size_t index;
    Shape shape;
    std::vector<float> values;
  };
  std::vector<Found> found_;
  WeightImportReport report_;
};

}  // namespace tk
