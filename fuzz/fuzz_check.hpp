#pragma once

// Property checks inside fuzz targets: a failed check is a finding, so it aborts (which libFuzzer
// and the replay driver both report) after saying which property broke.

#include <cstdio>
#include <cstdlib>

#define UH_FUZZ_CHECK(condition, message)                                                      \
  do {                                                                                         \
    if (!(condition)) {                                                                        \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s (%s)\n", __FILE__, __LINE__, message, \
                   #condition);                                                                \
      std::abort();                                                                            \
    }                                                                                          \
  } while (false)
