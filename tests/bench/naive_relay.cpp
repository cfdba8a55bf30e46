// naive-relay: the NAIVE RELAY baseline for scripts/bench — deliberately the simplest relay
// that works, in the style of socket_vmnet's per-connection threads: blocking sockets, one
// thread per direction, one frame per syscall.
//
//   naive-relay --listen PATH PROGRAM [ARGS...]     ("{fd}" in ARGS becomes 3)
//   naive-relay --listen PATH --tap IFNAME
//
// It binds PATH (AF_UNIX SOCK_DGRAM, kernel-default buffers), spawns PROGRAM with one end of
// an AF_UNIX stream socketpair as fd 3 (QEMU stream framing, like squib-netd's userspace
// children), and relays:
//   VM -> child: recvfrom() one datagram, write() 4-byte big-endian length + frame (one call)
//   child -> VM: read() the 4-byte length, read() the frame, sendto() the last VM sender
// With --tap it opens the existing TAP IFNAME instead (IFF_TAP | IFF_NO_PI, blocking: the
// flags squib-netd's relayed TAPs use, platform/linux/tap_device.hpp) and relays, as a
// relayed host-mode attachment does, one frame per syscall each way:
//   VM -> TAP: recvfrom() one datagram, write() it to the TAP
//   TAP -> VM: read() one frame from the TAP, sendto() the last VM sender
// No batching, no non-blocking I/O, no drop accounting: this is the baseline squib-netd is
// measured against, not a design to copy. SIGTERM/SIGINT kill the child and exit.

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr std::size_t k_max_frame = 65536;

int g_vm_fd = -1;
int g_link_fd = -1;  // the child's stream, or the TAP
bool g_tap = false;
volatile pid_t g_child = -1;
std::string g_listen;

std::mutex g_peer_mutex;
sockaddr_un g_peer{};
socklen_t g_peer_len = 0;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "naive-relay: %s: %s\n", what, std::strerror(errno));
  if (g_child > 0) ::kill(g_child, SIGKILL);
  std::exit(1);
}

bool read_exact(int fd, std::uint8_t* p, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool write_exact(int fd, const std::uint8_t* p, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void vm_to_child() {
  std::vector<std::uint8_t> buffer(4 + k_max_frame);
  for (;;) {
    sockaddr_un from{};
    socklen_t from_len = sizeof from;
    const ssize_t n =
        ::recvfrom(g_vm_fd, buffer.data() + 4, k_max_frame, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("recvfrom");
    }
    if (from_len > sizeof(sa_family_t)) {
      const std::lock_guard lock(g_peer_mutex);
      g_peer = from;
      g_peer_len = from_len;
    }
    if (n == 4 && std::memcmp(buffer.data() + 4, "VFKT", 4) == 0) continue;
    if (g_tap) {
      // One frame per write(); a frame the TAP refuses is lost, as it would be on a wire.
      while (::write(g_link_fd, buffer.data() + 4, static_cast<std::size_t>(n)) < 0 && errno == EINTR) {
      }
      continue;
    }
    const auto length = static_cast<std::uint32_t>(n);
    buffer[0] = static_cast<std::uint8_t>(length >> 24U);
    buffer[1] = static_cast<std::uint8_t>(length >> 16U);
    buffer[2] = static_cast<std::uint8_t>(length >> 8U);
    buffer[3] = static_cast<std::uint8_t>(length);
    if (!write_exact(g_link_fd, buffer.data(), 4 + length)) die("write to child");
  }
}

void child_to_vm() {
  std::vector<std::uint8_t> frame(k_max_frame);
  for (;;) {
    std::size_t length = 0;
    if (g_tap) {
      const ssize_t n = ::read(g_link_fd, frame.data(), k_max_frame);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) die("read from TAP");
      length = static_cast<std::size_t>(n);
    } else {
      std::uint8_t prefix[4];
      if (!read_exact(g_link_fd, prefix, sizeof prefix)) die("read from child");
      length = (std::uint32_t{prefix[0]} << 24U) | (std::uint32_t{prefix[1]} << 16U) |
               (std::uint32_t{prefix[2]} << 8U) | std::uint32_t{prefix[3]};
      if (length == 0 || length > k_max_frame) die("bad frame length from child");
      if (!read_exact(g_link_fd, frame.data(), length)) die("read from child");
    }
    sockaddr_un peer{};
    socklen_t peer_len = 0;
    {
      const std::lock_guard lock(g_peer_mutex);
      peer = g_peer;
      peer_len = g_peer_len;
    }
    if (peer_len == 0) continue;
    // Blocking sendto: a VM that does not read stalls this direction (socket_vmnet's flaw). A
    // VM that is gone (ENOENT, ECONNREFUSED) or whose path is now a socket connected to
    // someone else (EPERM) loses the frame.
    if (::sendto(g_vm_fd, frame.data(), length, 0, reinterpret_cast<const sockaddr*>(&peer), peer_len) < 0 &&
        errno != ECONNREFUSED && errno != ENOENT && errno != EPERM) {
      die("sendto");
    }
  }
}

void on_signal(int) {
  if (g_child > 0) {
    ::kill(g_child, SIGKILL);
    ::waitpid(g_child, nullptr, 0);
  }
  if (!g_listen.empty()) ::unlink(g_listen.c_str());
  ::_exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || std::strcmp(argv[1], "--listen") != 0) {
    std::fprintf(stderr, "usage: naive-relay --listen PATH (PROGRAM [ARGS...] | --tap IFNAME)\n");
    return 2;
  }
  g_listen = argv[2];
  ::signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);

  g_vm_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (g_vm_fd < 0) die("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (g_listen.size() >= sizeof addr.sun_path) die("path too long");
  std::memcpy(addr.sun_path, g_listen.c_str(), g_listen.size() + 1);
  ::unlink(g_listen.c_str());
  if (::bind(g_vm_fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) die("bind");

  if (std::strcmp(argv[3], "--tap") == 0) {
    if (argc != 5) die("--tap needs exactly one interface name");
    g_tap = true;
    g_link_fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (g_link_fd < 0) die("open /dev/net/tun");
    ifreq request{};
    std::snprintf(request.ifr_name, IFNAMSIZ, "%s", argv[4]);
    request.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (::ioctl(g_link_fd, TUNSETIFF, &request) != 0) die("TUNSETIFF");
    std::thread up(vm_to_child);
    up.detach();
    child_to_vm();
    return 0;
  }

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) die("socketpair");
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) die("fork");
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    if (pair[1] == 3) {
      ::fcntl(3, F_SETFD, 0);
    } else if (::dup2(pair[1], 3) != 3) {  // dup2 clears FD_CLOEXEC on the copy
      ::_exit(126);
    }
    std::vector<std::string> args;
    for (int i = 3; i < argc; ++i) args.emplace_back(std::strcmp(argv[i], "{fd}") == 0 ? "3" : argv[i]);
    std::vector<char*> child_argv;
    for (auto& arg : args) child_argv.push_back(arg.data());
    child_argv.push_back(nullptr);
    ::execv(child_argv[0], child_argv.data());
    ::_exit(127);
  }
  g_child = child;
  ::close(pair[1]);
  g_link_fd = pair[0];

  std::thread up(vm_to_child);
  up.detach();
  child_to_vm();
  return 0;
}
