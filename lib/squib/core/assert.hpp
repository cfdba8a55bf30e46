#pragma once

// SQUIB_ASSERT: an always-on check of our own invariants (never of peer input: bytes from a
// VM or a child are data, handled by drop-and-count). Failing it is a bug: log and abort.

namespace squib::core {
[[noreturn]] void assertion_failed(const char* expr, const char* file, int line) noexcept;
}  // namespace squib::core

#define SQUIB_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::squib::core::assertion_failed(#expr, __FILE__, __LINE__))
