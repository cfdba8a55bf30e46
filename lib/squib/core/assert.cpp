#include <squib/core/assert.hpp>

#include <cstdio>
#include <cstdlib>

namespace squib::core {

void assertion_failed(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "squib: assertion failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace squib::core
