#include <squib/platform/socket.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace squib::platform {

namespace {

core::Result<void> set_flags(int fd, Blocking blocking) {
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return core::Error::from_errno("fcntl FD_CLOEXEC");
  if (blocking == Blocking::blocking) return {};
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return core::Error::from_errno("fcntl O_NONBLOCK");
  return {};
}

}  // namespace

core::Result<core::Fd> open_socket(int domain, int type, Blocking blocking) {
  core::Fd fd(::socket(domain, type, 0));
  if (!fd) return core::Error::from_errno("socket");
  if (auto set = set_flags(fd.get(), blocking); !set) return set.error();
  return fd;
}

core::Result<std::pair<core::Fd, core::Fd>> open_socketpair(int type, Blocking first, Blocking second) {
  int pair[2];
  if (::socketpair(AF_UNIX, type, 0, pair) != 0) return core::Error::from_errno("socketpair");
  core::Fd one(pair[0]);
  core::Fd two(pair[1]);
  if (auto set = set_flags(one.get(), first); !set) return set.error();
  if (auto set = set_flags(two.get(), second); !set) return set.error();
  return std::pair{std::move(one), std::move(two)};
}

core::Result<std::pair<core::Fd, core::Fd>> open_pipe() {
  int ends[2];
  if (::pipe(ends) != 0) return core::Error::from_errno("pipe");
  core::Fd read_end(ends[0]);
  core::Fd write_end(ends[1]);
  if (auto set = set_flags(read_end.get(), Blocking::blocking); !set) return set.error();
  if (auto set = set_flags(write_end.get(), Blocking::blocking); !set) return set.error();
  return std::pair{std::move(read_end), std::move(write_end)};
}

void request_socket_buffers(int fd, int bytes) {
  (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

}  // namespace squib::platform
