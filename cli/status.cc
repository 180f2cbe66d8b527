#include "cli/status.h"

namespace tkcli {

void check(tk_status status, const std::string& what) {
  if (status == TK_OK) return;
  throw CliError(what + ": " + tk_status_string(status) + ": " + tk_last_error_message());
}

}  // namespace tkcli
