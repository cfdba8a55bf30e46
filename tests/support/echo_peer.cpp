// echo-peer: a userspace-network stand-in for integration tests, run by squib-netd as a
// `custom` userspace child. It speaks QEMU stream framing on an inherited fd and:
//   echo-peer FD echo     — sends every frame back unchanged (exact counts are testable)
//   echo-peer FD badlen   — answers the first frame with a length prefix of 0xffffffff
//   echo-peer FD fail     — prints a message and exits 3 at once (a child that cannot run)
//   echo-peer FD echo dgram — the fd is a datagram socket (vfkit framing): echo datagrams
//   echo-peer -listen-qemu unix://P | -listen-vfkit unixgram://P [gvproxy flags…]
//                         — gvproxy's command-line contract: listen on P and echo, so the
//                           daemon's gvproxy preset is exercised without gvproxy (which
//                           Debian does not package). "VFKT" handshakes are absorbed.
// It is a real process on real sockets, not a mock of the daemon's code.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

bool read_exact(int fd, void* data, std::size_t size) {
  auto* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, p, size);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool write_exact(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Echoes datagrams back to their sender; the 4-byte vfkit handshake is absorbed.
int echo_datagrams(int fd) {
  std::vector<unsigned char> frame(70000);
  for (;;) {
    sockaddr_un from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = ::recvfrom(fd, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) return 1;
    if (n == 4 && std::memcmp(frame.data(), "VFKT", 4) == 0) continue;
    const bool named = from_len > sizeof(sa_family_t);
    ::sendto(fd, frame.data(), static_cast<std::size_t>(n), 0, named ? reinterpret_cast<sockaddr*>(&from) : nullptr,
             named ? from_len : 0);
  }
}

int echo_stream(int fd, const std::string& mode);

// gvproxy's contract: -listen-qemu unix://PATH or -listen-vfkit unixgram://PATH.
int gvproxy_compatible(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    const bool qemu = flag == "-listen-qemu" && value.rfind("unix://", 0) == 0;
    const bool vfkit = flag == "-listen-vfkit" && value.rfind("unixgram://", 0) == 0;
    if (!qemu && !vfkit) continue;
    const std::string path = value.substr(qemu ? 7 : 11);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    const int fd = ::socket(AF_UNIX, qemu ? SOCK_STREAM : SOCK_DGRAM, 0);
    ::unlink(path.c_str());
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::perror("echo-peer: bind");
      return 1;
    }
    std::fprintf(stderr, "echo-peer: gvproxy-compatible, listening on %s\n", value.c_str());
    if (vfkit) return echo_datagrams(fd);
    ::listen(fd, 1);
    const int conn = ::accept(fd, nullptr, nullptr);
    return conn < 0 ? 1 : echo_stream(conn, "echo");
  }
  std::fprintf(stderr, "echo-peer: no -listen-qemu/-listen-vfkit given\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && argv[1][0] == '-') return gvproxy_compatible(argc, argv);
  if (argc < 3) {
    std::fprintf(stderr, "usage: echo-peer FD echo|badlen|fail\n");
    return 2;
  }
  const int fd = std::atoi(argv[1]);
  const std::string mode = argv[2];
  if (mode == "fail") {
    std::fprintf(stderr, "echo-peer: failing on purpose\n");
    return 3;
  }
  std::fprintf(stderr, "echo-peer: serving fd %d in mode %s\n", fd, mode.c_str());
  if (argc > 3 && std::string(argv[3]) == "dgram") return echo_datagrams(fd);
  return echo_stream(fd, mode);
}

namespace {

int echo_stream(int fd, const std::string& mode) {
  std::vector<unsigned char> frame(70000);
  for (;;) {
    unsigned char prefix[4];
    if (!read_exact(fd, prefix, sizeof prefix)) return 0;
    const std::uint32_t length = (std::uint32_t{prefix[0]} << 24U) | (std::uint32_t{prefix[1]} << 16U) |
                                 (std::uint32_t{prefix[2]} << 8U) | std::uint32_t{prefix[3]};
    if (length > frame.size() || !read_exact(fd, frame.data(), length)) return 1;
    if (mode == "badlen") {
      const unsigned char bad[4] = {0xff, 0xff, 0xff, 0xff};
      write_exact(fd, bad, sizeof bad);
      continue;
    }
    if (!write_exact(fd, prefix, sizeof prefix) || !write_exact(fd, frame.data(), length)) return 1;
  }
}

}  // namespace
