// What a fuzz target does when a property it checks fails: print what and abort, so libFuzzer
// saves the input as a crash (an assert would vanish under NDEBUG).
#pragma once

#include <cstdio>
#include <cstdlib>

#define VSLAB_FUZZ_CHECK(condition, what)                                                   \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s (%s)\n", __FILE__, __LINE__, what, \
                   #condition);                                                             \
      std::abort();                                                                         \
    }                                                                                       \
  } while (false)
