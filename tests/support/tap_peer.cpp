// tap-peer: a stand-in VMM for handed-off TAPs (tests/integration/handoff_test.cpp). It does
// what Firecracker, Cloud Hypervisor or QEMU do with the TAP and nothing more, as whichever
// user runs it (the tests run it as an unprivileged account):
//
//   tap-peer (--name IFNAME | --fd N) relay LOCAL PEER
//       opens the TAP by name (open /dev/net/tun + TUNSETIFF IFF_TAP|IFF_NO_PI, as a VMM
//       without privileges does) or takes the open fd N (`handoff: fd`), binds the AF_UNIX
//       datagram socket LOCAL and relays: every frame read from the TAP is sent to PEER,
//       every datagram received on LOCAL is written to the TAP — so a test drives the TAP
//       exactly as it drives a per-VM socket (support/daemon_process.hpp FakeVmm). Prints
//       "ready" once both are open.
//   tap-peer (--name IFNAME | --fd N) arp MAC IP TARGET
//       writes one ARP request "who has TARGET, tell IP" from MAC and exits 0 as soon as the
//       answer comes back (within 10 s, resent every second), 1 otherwise.
// A TAP whose fd carries IFF_VNET_HDR (the daemon's `handoff: fd`) gets and gives the
// virtio-net header (TUNGETVNETHDRSZ bytes, zeros: no offloads) in front of every frame.
// Any failure prints "tap-peer: WHAT: strerror" on stderr and exits 1 (tests match the text).

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "tap-peer: %s: %s\n", what.c_str(), std::strerror(errno));
  return 1;
}

bool parse_mac(const char* text, std::array<std::uint8_t, 6>& out) {
  unsigned v[6];
  if (std::sscanf(text, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return false;
  for (int i = 0; i < 6; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v[i]);
  return true;
}

struct Tap {
  int fd = -1;
  std::size_t header = 0;  // virtio-net header bytes in front of each frame
};

int open_tap(int argc, char** argv, int& next, Tap& tap) {
  if (argc < 3) return -1;
  if (std::strcmp(argv[1], "--name") == 0) {
    tap.fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (tap.fd < 0) return fail("open /dev/net/tun");
    ifreq request{};
    std::snprintf(request.ifr_name, IFNAMSIZ, "%s", argv[2]);
    request.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (::ioctl(tap.fd, TUNSETIFF, &request) != 0) return fail(std::string("TUNSETIFF ") + argv[2]);
  } else if (std::strcmp(argv[1], "--fd") == 0) {
    tap.fd = std::atoi(argv[2]);
    ifreq request{};
    if (::ioctl(tap.fd, TUNGETIFF, &request) != 0) return fail("TUNGETIFF");
    if ((request.ifr_flags & IFF_VNET_HDR) != 0) {
      int size = 0;
      if (::ioctl(tap.fd, TUNGETVNETHDRSZ, &size) != 0) return fail("TUNGETVNETHDRSZ");
      tap.header = static_cast<std::size_t>(size);
    }
    const int flags = ::fcntl(tap.fd, F_GETFL);
    if (flags < 0 || ::fcntl(tap.fd, F_SETFL, flags & ~O_NONBLOCK) != 0) return fail("fcntl");
  } else {
    return -1;
  }
  next = 3;
  return 0;
}

bool write_frame(const Tap& tap, const std::uint8_t* frame, std::size_t size) {
  std::vector<std::uint8_t> out(tap.header + size, 0);
  std::memcpy(out.data() + tap.header, frame, size);
  return ::write(tap.fd, out.data(), out.size()) == static_cast<ssize_t>(out.size());
}

int arp(const Tap& tap, const char* mac_text, const char* ip_text, const char* target_text) {
  std::array<std::uint8_t, 6> mac{};
  in_addr ip{};
  in_addr target{};
  if (!parse_mac(mac_text, mac) || ::inet_pton(AF_INET, ip_text, &ip) != 1 ||
      ::inet_pton(AF_INET, target_text, &target) != 1) {
    std::fprintf(stderr, "tap-peer: arp MAC IP TARGET\n");
    return 2;
  }
  std::array<std::uint8_t, 42> request{};
  std::memset(request.data(), 0xff, 6);
  std::memcpy(request.data() + 6, mac.data(), 6);
  const std::uint8_t head[] = {0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01};
  std::memcpy(request.data() + 12, head, sizeof head);
  std::memcpy(request.data() + 22, mac.data(), 6);
  std::memcpy(request.data() + 28, &ip, 4);
  std::memcpy(request.data() + 38, &target, 4);
  std::vector<std::uint8_t> buffer(65536 + 64);
  for (int attempt = 0; attempt < 10; ++attempt) {
    if (!write_frame(tap, request.data(), request.size())) return fail("write");
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{tap.fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::read(tap.fd, buffer.data(), buffer.size());
      if (n < 0) return fail("read");
      const std::uint8_t* f = buffer.data() + tap.header;
      const auto size = static_cast<std::size_t>(n) - tap.header;
      // An ARP reply (opcode 2) from TARGET to IP.
      if (size >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 && f[21] == 2 &&
          std::memcmp(f + 28, &target, 4) == 0 && std::memcmp(f + 38, &ip, 4) == 0) {
        std::printf("arp reply from %s\n", target_text);
        return 0;
      }
    }
  }
  std::fprintf(stderr, "tap-peer: no ARP reply from %s\n", target_text);
  return 1;
}

int relay(const Tap& tap, const char* local, const char* peer) {
  const int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return fail("socket");
  sockaddr_un here{};
  here.sun_family = AF_UNIX;
  sockaddr_un there{};
  there.sun_family = AF_UNIX;
  if (std::strlen(local) >= sizeof here.sun_path || std::strlen(peer) >= sizeof there.sun_path) {
    errno = ENAMETOOLONG;
    return fail("socket path");
  }
  std::strcpy(here.sun_path, local);
  std::strcpy(there.sun_path, peer);
  if (::bind(sock, reinterpret_cast<sockaddr*>(&here), sizeof here) != 0) return fail(std::string("bind ") + local);
  std::printf("ready\n");
  std::fflush(stdout);
  std::vector<std::uint8_t> buffer(65536 + 64);
  for (;;) {
    std::array<pollfd, 2> p{pollfd{tap.fd, POLLIN, 0}, pollfd{sock, POLLIN, 0}};
    if (::poll(p.data(), p.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return fail("poll");
    }
    if ((p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return 0;  // the TAP went away
    if ((p[0].revents & POLLIN) != 0) {
      const ssize_t n = ::read(tap.fd, buffer.data(), buffer.size());
      if (n < 0) return errno == EIO || errno == EBADFD ? 0 : fail("read");
      const auto size = static_cast<std::size_t>(n) - tap.header;
      (void)::sendto(sock, buffer.data() + tap.header, size, 0, reinterpret_cast<sockaddr*>(&there), sizeof there);
    }
    if ((p[1].revents & POLLIN) != 0) {
      const ssize_t n = ::recv(sock, buffer.data(), buffer.size(), 0);
      if (n > 0 && !write_frame(tap, buffer.data(), static_cast<std::size_t>(n)) && errno != EIO) return fail("write");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Tap tap;
  int next = 0;
  if (const int rc = open_tap(argc, argv, next, tap); rc != 0) {
    if (rc < 0) std::fprintf(stderr, "usage: tap-peer (--name IFNAME | --fd N) (relay LOCAL PEER | arp MAC IP TARGET)\n");
    return rc < 0 ? 2 : rc;
  }
  if (argc == next + 3 && std::strcmp(argv[next], "relay") == 0) return relay(tap, argv[next + 1], argv[next + 2]);
  if (argc == next + 4 && std::strcmp(argv[next], "arp") == 0) {
    return arp(tap, argv[next + 1], argv[next + 2], argv[next + 3]);
  }
  std::fprintf(stderr, "usage: tap-peer (--name IFNAME | --fd N) (relay LOCAL PEER | arp MAC IP TARGET)\n");
  return 2;
}
