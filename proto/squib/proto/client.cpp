#include <squib/proto/client.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace squib::proto {

using core::Error;
using core::Result;

Result<ControlClient> ControlClient::connect(const std::string& path, std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Error{ENAMETOOLONG, "control socket path too long: " + path};
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // Portable spelling of SOCK_CLOEXEC (macOS has none): a client process spawns nothing
  // while connecting, so setting it right after is as good.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return Error::from_errno("socket");
  (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    return Error::from_errno("connect " + path, err);
  }
  return ControlClient(fd, timeout);
}

ControlClient::ControlClient(ControlClient&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)),
      m_timeout(other.m_timeout),
      m_buffer(std::move(other.m_buffer)),
      m_next_id(other.m_next_id),
      m_received_fd(std::exchange(other.m_received_fd, -1)) {}

ControlClient& ControlClient::operator=(ControlClient&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) ::close(m_fd);
    if (m_received_fd >= 0) ::close(m_received_fd);
    m_fd = std::exchange(other.m_fd, -1);
    m_timeout = other.m_timeout;
    m_buffer = std::move(other.m_buffer);
    m_next_id = other.m_next_id;
    m_received_fd = std::exchange(other.m_received_fd, -1);
  }
  return *this;
}

ControlClient::~ControlClient() {
  if (m_fd >= 0) ::close(m_fd);
  if (m_received_fd >= 0) ::close(m_received_fd);
}

Result<void> ControlClient::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("send");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<std::string> ControlClient::read_line() {
  const auto deadline = std::chrono::steady_clock::now() + m_timeout;
  for (;;) {
    if (const auto newline = m_buffer.find('\n'); newline != std::string::npos) {
      std::string line = m_buffer.substr(0, newline);
      m_buffer.erase(0, newline + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error{ETIMEDOUT, "timed out waiting for the daemon's reply"};
    pollfd pfd{m_fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("poll");
    }
    if (ready == 0) continue;

    char data[16384];
    iovec iov{data, sizeof data};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(m_fd, &msg, 0);  // (MSG_CMSG_CLOEXEC is Linux's; FD_CLOEXEC below)
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("recv");
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        int fd = -1;
        std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
        (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (m_received_fd >= 0) ::close(m_received_fd);
        m_received_fd = fd;
      }
    }
    if (n == 0) return Error{ECONNRESET, "the daemon closed the connection"};
    m_buffer.append(data, static_cast<std::size_t>(n));
  }
}

Result<std::string> ControlClient::exchange_raw(std::string_view bytes) {
  if (auto written = write_all(bytes); !written) return written.error();
  return read_line();
}

Result<Response> ControlClient::call(std::string_view method, const json& params) {
  const std::string line = encode_request(m_next_id++, method, params) + "\n";
  auto reply = exchange_raw(line);
  if (!reply) return reply.error();
  auto response = parse_response(reply.value());
  if (!response) return Error{EPROTO, "malformed reply from the daemon: " + reply.value()};
  return *response;
}

int ControlClient::take_received_fd() { return std::exchange(m_received_fd, -1); }

}  // namespace squib::proto
