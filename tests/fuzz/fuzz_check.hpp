#pragma once

// FUZZ_CHECK: a property the fuzz target asserts about the code under test. A violation
// prints the expression and aborts, which libFuzzer reports as a crash and saves the input.
// (The code under test never asserts on input; the harness does, about its outputs.)

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(expr)                                                                       \
  do {                                                                                         \
    if (!(expr)) {                                                                             \
      std::fprintf(stderr, "fuzz property violated: %s at %s:%d\n", #expr, __FILE__, __LINE__); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (false)
