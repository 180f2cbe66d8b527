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

}  // namespace tk
