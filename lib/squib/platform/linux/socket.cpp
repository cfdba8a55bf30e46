#include <squib/platform/socket.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace squib::platform {

namespace {

int flags_of(Blocking blocking) { return SOCK_CLOEXEC | (blocking == Blocking::non_blocking ? SOCK_NONBLOCK : 0); }

core::Result<void> set_non_blocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return core::Error::from_errno("fcntl O_NONBLOCK");
  return {};
}

}  // namespace

core::Result<core::Fd> open_socket(int domain, int type, Blocking blocking) {
  core::Fd fd(::socket(domain, type | flags_of(blocking), 0));
  if (!fd) return core::Error::from_errno("socket");
  return fd;
}

core::Result<std::pair<core::Fd, core::Fd>> open_socketpair(int type, Blocking first, Blocking second) {
  int pair[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, pair) != 0) return core::Error::from_errno("socketpair");
  core::Fd one(pair[0]);
  core::Fd two(pair[1]);
  if (first == Blocking::non_blocking) {
    if (auto set = set_non_blocking(one.get()); !set) return set.error();
  }
  if (second == Blocking::non_blocking) {
    if (auto set = set_non_blocking(two.get()); !set) return set.error();
  }
  return std::pair{std::move(one), std::move(two)};
}

core::Result<std::pair<core::Fd, core::Fd>> open_pipe() {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return core::Error::from_errno("pipe2");
  return std::pair{core::Fd(ends[0]), core::Fd(ends[1])};
}

void request_socket_buffers(int fd, int bytes) {
  // The *FORCE variants (CAP_NET_ADMIN) may exceed net.core.{w,r}mem_max (socket(7)); the
  // plain ones are capped by it.
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0) {
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) {
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
}

}  // namespace squib::platform
