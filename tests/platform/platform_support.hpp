#pragma once

// Helpers for the platform tests: a temporary directory for socket paths, and AF_UNIX
// socket set-up that fails the test (not the process) when a syscall fails.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include <squib/core/fd.hpp>

#include "support/catch.hpp"
#include "support/temp_dir.hpp"

namespace squib::platform_test {

using core::Fd;
using test::TempDir;


inline sockaddr_un unix_address(const std::string& path, socklen_t* length) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  *length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return addr;
}

// A SOCK_CLOEXEC (and, if asked, SOCK_NONBLOCK) AF_UNIX socket of `type`.
inline Fd unix_socket(int type, bool non_blocking) {
  Fd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC | (non_blocking ? SOCK_NONBLOCK : 0), 0));
  INFO("socket: " << std::strerror(errno));
  REQUIRE(fd);
  return fd;
}

// A datagram socket bound at `path`.
inline Fd bound_dgram(const std::string& path, bool non_blocking = true) {
  Fd fd = unix_socket(SOCK_DGRAM, non_blocking);
  socklen_t length = 0;
  const auto addr = unix_address(path, &length);
  INFO("bind " << path);
  REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), length) == 0);
  return fd;
}

// sendto `path`; returns the result and stores errno in *err (0 on success).
inline ssize_t send_to(int fd, const std::string& path, const void* data, std::size_t size, int* err, int flags = 0) {
  socklen_t length = 0;
  const auto addr = unix_address(path, &length);
  ssize_t n = 0;
  do {
    n = ::sendto(fd, data, size, flags, reinterpret_cast<const sockaddr*>(&addr), length);
  } while (n < 0 && errno == EINTR);
  *err = n < 0 ? errno : 0;
  return n;
}

inline int int_option(int fd, int level, int name) {
  int value = 0;
  socklen_t length = sizeof value;
  REQUIRE(::getsockopt(fd, level, name, &value, &length) == 0);
  return value;
}

}  // namespace squib::platform_test
