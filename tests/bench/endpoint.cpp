// Endpoint: see endpoint.hpp.

#include "endpoint.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace squib::bench {
namespace {

constexpr int k_buffer_bytes = 4 * 1024 * 1024;
// A zeroed virtio-net header (virtio_net_hdr_mrg_rxbuf is 12 bytes; the TAP's is ≤ that).
constexpr std::array<std::uint8_t, 16> k_zero_header{};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "squib-bench: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    die(path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

}  // namespace

Endpoint::Endpoint(int fd, bool is_tap, std::size_t header, std::string name, std::string unlink_path)
    : m_fd(fd), m_is_tap(is_tap), m_header(header), m_name(std::move(name)), m_unlink(std::move(unlink_path)) {
  const std::size_t slot = m_header + k_endpoint_max_frame;
  m_rx_pool.resize(k_endpoint_batch * slot);
  for (std::size_t i = 0; i < k_endpoint_batch; ++i) {
    m_iov[i] = iovec{m_rx_pool.data() + i * slot, slot};
  }
}

Endpoint::Endpoint(Endpoint&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)),
      m_is_tap(other.m_is_tap),
      m_header(other.m_header),
      m_tx_header(other.m_tx_header),
      m_name(std::move(other.m_name)),
      m_unlink(std::exchange(other.m_unlink, {})),
      m_rx_pool(std::move(other.m_rx_pool)),
      m_rx_len(other.m_rx_len),
      m_iov(other.m_iov),
      m_msgs(other.m_msgs) {}

Endpoint::~Endpoint() {
  if (m_fd >= 0) ::close(m_fd);
  if (!m_unlink.empty()) ::unlink(m_unlink.c_str());
}

Endpoint Endpoint::socket(const std::string& target, const std::string& local) {
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  for (const int option : {SO_SNDBUFFORCE, SO_RCVBUFFORCE}) {
    if (::setsockopt(fd, SOL_SOCKET, option, &k_buffer_bytes, sizeof k_buffer_bytes) != 0) {
      const int fallback = option == SO_SNDBUFFORCE ? SO_SNDBUF : SO_RCVBUF;
      ::setsockopt(fd, SOL_SOCKET, fallback, &k_buffer_bytes, sizeof k_buffer_bytes);
    }
  }
  // A daemon that stops reading must not hang the bench: a send waits at most this long.
  const timeval send_timeout{0, 500'000};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  ::unlink(local.c_str());
  const auto here = unix_address(local);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&here), sizeof here) != 0) die("bind " + local);
  const auto there = unix_address(target);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&there), sizeof there) != 0) die("connect " + target);
  return Endpoint(fd, false, 0, target, local);
}

Endpoint Endpoint::tap(const std::string& ifname, bool vnet_hdr) {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) die("open /dev/net/tun");
  ifreq request{};
  if (ifname.size() >= IFNAMSIZ) {
    errno = ENAMETOOLONG;
    die(ifname);
  }
  std::memcpy(request.ifr_name, ifname.c_str(), ifname.size() + 1);
  request.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0));
  if (::ioctl(fd, TUNSETIFF, &request) != 0) die("TUNSETIFF " + ifname);
  std::size_t header = 0;
  if (vnet_hdr) {
    int size = 0;
    if (::ioctl(fd, TUNGETVNETHDRSZ, &size) != 0) die("TUNGETVNETHDRSZ");
    if (size < 0 || static_cast<std::size_t>(size) > k_zero_header.size()) die("unexpected vnet header size");
    header = static_cast<std::size_t>(size);
  }
  return Endpoint(fd, true, header, ifname, {});
}

void Endpoint::set_gso(std::uint16_t mss) {
  if (!m_is_tap || m_header < 10) die("--gso needs TAPs with a virtio-net header (--vnet-hdr)");
  // struct virtio_net_hdr (linux/virtio_net.h), little-endian: flags NEEDS_CSUM, gso_type
  // TCPV4, hdr_len 54, gso_size, csum_start 34, csum_offset 16.
  const std::array<std::uint8_t, 10> header{
      1, 1, 54, 0, static_cast<std::uint8_t>(mss & 0xffU), static_cast<std::uint8_t>(mss >> 8U), 34, 0, 16, 0};
  std::copy(header.begin(), header.end(), m_tx_header.begin());
  if (::ioctl(m_fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) != 0) die("TUNSETOFFLOAD " + m_name);
}

std::size_t Endpoint::send(std::span<const std::span<const std::uint8_t>> frames) {
  if (m_is_tap) {
    std::size_t sent = 0;
    for (const auto& f : frames) {
      const std::array<iovec, 2> parts{iovec{m_tx_header.data(), m_header},
                                       iovec{const_cast<std::uint8_t*>(f.data()), f.size()}};
      ssize_t n = -1;
      do {
        n = ::writev(m_fd, parts.data(), 2);
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        if (errno == EIO || errno == ENOBUFS || errno == EAGAIN) return sent;  // no carrier, full
        die("write " + m_name);
      }
      ++sent;
    }
    return sent;
  }
  std::array<iovec, k_endpoint_batch> iov{};
  std::array<mmsghdr, k_endpoint_batch> msgs{};
  const std::size_t count = std::min(frames.size(), k_endpoint_batch);
  for (std::size_t i = 0; i < count; ++i) {
    iov[i] = iovec{const_cast<std::uint8_t*>(frames[i].data()), frames[i].size()};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  std::size_t done = 0;
  while (done < count) {
    const int n = ::sendmmsg(m_fd, &msgs[done], static_cast<unsigned>(count - done), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == ECONNREFUSED) return done;
      die("sendmmsg " + m_name);
    }
    done += static_cast<std::size_t>(n);
  }
  return done;
}

std::size_t Endpoint::receive(int timeout_ms) {
  pollfd p{m_fd, POLLIN, 0};
  const int ready = ::poll(&p, 1, timeout_ms);
  if (ready < 0 && errno != EINTR) die("poll " + m_name);
  if (ready <= 0) return 0;
  if (m_is_tap) {
    std::size_t n = 0;
    while (n < k_endpoint_batch) {
      const ssize_t got = ::read(m_fd, m_iov[n].iov_base, m_iov[n].iov_len);
      if (got < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        die("read " + m_name);
      }
      if (static_cast<std::size_t>(got) < m_header) continue;
      m_rx_len[n++] = static_cast<std::size_t>(got) - m_header;
    }
    return n;
  }
  for (std::size_t i = 0; i < k_endpoint_batch; ++i) {
    m_msgs[i].msg_hdr = msghdr{};
    m_msgs[i].msg_hdr.msg_iov = &m_iov[i];
    m_msgs[i].msg_hdr.msg_iovlen = 1;
  }
  const int n = ::recvmmsg(m_fd, m_msgs.data(), k_endpoint_batch, MSG_DONTWAIT, nullptr);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    die("recvmmsg " + m_name);
  }
  for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) m_rx_len[i] = m_msgs[i].msg_len;
  return static_cast<std::size_t>(n);
}

std::span<const std::uint8_t> Endpoint::frame(std::size_t i) const {
  return {static_cast<const std::uint8_t*>(m_iov[i].iov_base) + m_header, m_rx_len[i]};
}

}  // namespace squib::bench
