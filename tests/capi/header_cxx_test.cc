// The public header compiles as C++ too (the C test compiles it as C99), and
// its fixed-layout struct keeps its size.
#include <cstddef>

#include "capi/trainkit.h"

static_assert(sizeof(tk_tensor_view) == 8 + 4 + 4 + 8 * TK_MAX_RANK * 2, "tk_tensor_view layout changed");
static_assert(offsetof(tk_tensor_view, shape) == 16, "tk_tensor_view layout changed");
static_assert(TK_ERROR_INTERNAL == 10, "status values are frozen");

int main() {
  tk_model* model = nullptr;
  if (tk_model_create(&model) != TK_OK) return 1;
  tk_model_destroy(model);
  return 0;
}
