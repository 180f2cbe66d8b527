// Copying a caller's (possibly strided) host view into a dense array of the
// element type a dataset stores, converting on the way. Plain host work: no
// device or backend is involved.
#pragma once

#include <cstdint>

#include "core/backend/backend.h"

namespace tk {

// Every element of src, in row-major order, into out (shape_numel(src.shape)
// elements). src may be f32, f64, i32 or u8; values convert as static_cast
// through double does. Throws kUnsupported for another dtype.
void gather_host(const HostView& src, float* out);
void gather_host(const HostView& src, int32_t* out);

}  // namespace tk
