// The registered ops as JSON, for bindings and tools to discover them:
// {"ops": [{"name": "linear", "inputs": 1, "attributes": [
//   {"name": "units", "type": "int", "required": true},
//   {"name": "bias", "type": "bool", "required": false, "default": true}, ...]}, ...]}
// An attribute whose default is another attribute's value says so with
// "default_from" (a pool's stride is its kernel).
#pragma once

#include <string>

namespace tk {

std::string op_catalog_json();

}  // namespace tk
