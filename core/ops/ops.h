// Factories for every op; each is defined in the op's own file.
#pragma once

#include <cstdint>

#include "core/backend/backend.h"
#include "core/ops/op.h"

namespace tk {

OpPtr make_linear(int64_t units, bool bias, Init weight_init);  // linear.cc
OpPtr make_activation(Activation activation);                   // activation.cc
OpPtr make_dropout(double probability);                          // dropout.cc
OpPtr make_flatten();                                            // flatten.cc
OpPtr make_add();                                                // add.cc

// Rebuilds an op from its type and attributes (as Op::attributes() gives
// them); throws kInvalidArgument naming an unknown type or a bad attribute.
OpPtr make_op(const std::string& type, const std::vector<Attribute>& attributes);  // registry.cc
const char* init_name(Init init);
Init init_from_name(const std::string& name);  // throws kInvalidArgument

}  // namespace tk
