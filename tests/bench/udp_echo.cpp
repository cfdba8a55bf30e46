// udp-echo: the host service of scripts/bench's passt paths (passt-direct, passt-squib). The
// generator sends UDP datagrams from the guest's address to the gateway; passt maps the
// gateway to the host's loopback (passt(1): gateway remapping, off only with --no-map-gw) and
// sends them from a socket of its own to 127.0.0.1:PORT, where this program answers each one
// unchanged to its sender. Same service both ways, so it cancels out of the ratio.
//
//   udp-echo [--address 127.0.0.1] --port PORT
//
// recvmmsg (MSG_WAITFORONE) / sendmmsg in batches of 32, buffers made once: it costs a
// fraction of a syscall per datagram, so passt (and the relay in front of it), not the echo,
// bounds the round trip. A reply the kernel refuses (a full socket buffer) is dropped; the
// generator counts it as lost. Runs until SIGTERM/SIGINT; prints its totals to stderr then.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::size_t k_batch = 32;
constexpr std::size_t k_max_datagram = 65536;  // an IPv4 UDP payload is at most 65507 bytes
constexpr int k_buffer_bytes = 4 * 1024 * 1024;

volatile sig_atomic_t g_stop = 0;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "udp-echo: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string address = "127.0.0.1";
  long port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view arg = argv[i];
    if (arg == "--address") {
      address = argv[i + 1];
    } else if (arg == "--port") {
      port = std::strtol(argv[i + 1], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: udp-echo [--address IPV4] --port PORT\n");
      return 2;
    }
  }
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "udp-echo: --port must be 1..65535\n");
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);

  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  for (const int option : {SO_SNDBUFFORCE, SO_RCVBUFFORCE}) {
    if (::setsockopt(fd, SOL_SOCKET, option, &k_buffer_bytes, sizeof k_buffer_bytes) != 0) {
      const int fallback = option == SO_SNDBUFFORCE ? SO_SNDBUF : SO_RCVBUF;
      ::setsockopt(fd, SOL_SOCKET, fallback, &k_buffer_bytes, sizeof k_buffer_bytes);
    }
  }
  sockaddr_in here{};
  here.sin_family = AF_INET;
  here.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, address.c_str(), &here.sin_addr) != 1) {
    std::fprintf(stderr, "udp-echo: not an IPv4 address: %s\n", address.c_str());
    return 2;
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&here), sizeof here) != 0) die("bind");

  std::vector<std::uint8_t> pool(k_batch * k_max_datagram);
  std::array<sockaddr_in, k_batch> from{};
  std::array<iovec, k_batch> iov{};
  std::array<mmsghdr, k_batch> msgs{};
  std::uint64_t datagrams = 0;
  std::uint64_t dropped = 0;
  while (g_stop == 0) {
    for (std::size_t i = 0; i < k_batch; ++i) {
      iov[i] = iovec{pool.data() + i * k_max_datagram, k_max_datagram};
      msgs[i].msg_hdr = msghdr{};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    }
    const int n = ::recvmmsg(fd, msgs.data(), k_batch, MSG_WAITFORONE, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("recvmmsg");
    }
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) iov[i].iov_len = msgs[i].msg_len;
    int done = 0;
    while (done < n) {
      const int sent =
          ::sendmmsg(fd, &msgs[static_cast<std::size_t>(done)], static_cast<unsigned>(n - done), MSG_DONTWAIT);
      if (sent < 0 && errno == EINTR) continue;
      if (sent <= 0) {
        // A full buffer or an unreachable sender: drop the rest of this batch, never wait.
        dropped += static_cast<std::uint64_t>(n - done);
        break;
      }
      done += sent;
    }
    datagrams += static_cast<std::uint64_t>(n);
  }
  std::fprintf(stderr, "udp-echo: %llu datagrams, %llu replies dropped\n", static_cast<unsigned long long>(datagrams),
               static_cast<unsigned long long>(dropped));
  ::close(fd);
  return 0;
}
