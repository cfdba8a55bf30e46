#pragma once

// Result<T>: the return type of fallible setup calls (syscalls, parsing, backends).
// Debian 12's g++ 12 and clang-14 lack std::expected, so this is a deliberately small
// stand-in with the same spirit: a value or an Error, checked before use.
// The per-frame data path never builds an Error (which owns a string); it counts drops.

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

#include <squib/core/assert.hpp>

namespace squib::core {

// An error: an errno-style code (0 when not from a syscall) and a message for humans.
struct Error {
  int code = 0;
  std::string message;

  // "what: strerror(errno)" with the errno captured at the call site.
  static Error from_errno(const std::string& what, int err = errno) {
    return Error{err, what + ": " + std::strerror(err)};
  }
};

template <typename T>
class [[nodiscard]] Result {
public:
  Result(T value) : m_state(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Error error) : m_state(std::move(error)) {}      // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const noexcept { return m_state.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    SQUIB_ASSERT(ok());
    return std::get<0>(m_state);
  }
  T&& value() && {
    SQUIB_ASSERT(ok());
    return std::get<0>(std::move(m_state));
  }
  const T& value() const& {
    SQUIB_ASSERT(ok());
    return std::get<0>(m_state);
  }
  [[nodiscard]] const Error& error() const {
    SQUIB_ASSERT(!ok());
    return std::get<1>(m_state);
  }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }

private:
  std::variant<T, Error> m_state;
};

template <>
class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)), m_ok(false) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const noexcept { return m_ok; }
  explicit operator bool() const noexcept { return m_ok; }
  [[nodiscard]] const Error& error() const {
    SQUIB_ASSERT(!m_ok);
    return m_error;
  }

private:
  Error m_error;
  bool m_ok = true;
};

}  // namespace squib::core
