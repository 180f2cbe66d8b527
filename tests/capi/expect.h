/*
 * expect.h - the checks of the C API tests: each counts a pass or prints
 * where it failed; main() reports the totals.
 */
#ifndef TESTS_CAPI_EXPECT_H_
#define TESTS_CAPI_EXPECT_H_

#include <stdio.h>
#include <string.h>

#include "capi/trainkit.h"

static int passed, failed;

#define EXPECT(cond)                                                        \
  do {                                                                      \
    if (cond) {                                                             \
      ++passed;                                                             \
    } else {                                                                \
      ++failed;                                                             \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);   \
    }                                                                       \
  } while (0)

/* The status must match, and a failure must come with a message. */
#define EXPECT_STATUS(call, expected)                                                             \
  do {                                                                                            \
    tk_status got_ = (call);                                                                      \
    if (got_ == (expected) && (got_ == TK_OK || tk_last_error_message()[0] != '\0')) {            \
      ++passed;                                                                                   \
    } else {                                                                                      \
      ++failed;                                                                                   \
      fprintf(stderr, "%s:%d: %s returned %s, expected %s (message: %s)\n", __FILE__, __LINE__,   \
              #call, tk_status_string(got_), tk_status_string(expected), tk_last_error_message()); \
    }                                                                                             \
  } while (0)

/* The last error message must contain `fragment`. */
#define EXPECT_MESSAGE(fragment)                                                             \
  do {                                                                                       \
    if (strstr(tk_last_error_message(), fragment)) {                                         \
      ++passed;                                                                              \
    } else {                                                                                 \
      ++failed;                                                                              \
      fprintf(stderr, "%s:%d: message '%s' lacks '%s'\n", __FILE__, __LINE__,                \
              tk_last_error_message(), fragment);                                            \
    }                                                                                        \
  } while (0)

#endif /* TESTS_CAPI_EXPECT_H_ */
