#pragma once

// Endpoint: one side of a one-way bench path (tests/bench/oneway.cpp) — where the generator
// writes frames in or reads them out. Two kinds:
// - socket: what a VMM holds on a per-VM socket, as QEMU's -netdev dgram does: an AF_UNIX
//   datagram socket bound at LOCAL and connect()ed to TARGET (the daemon's or the naive
//   relay's per-VM socket). 4 MiB buffers; sends block (a full peer holds the sender back, as
//   it holds QEMU), receives wait up to a timeout.
// - tap: a TAP opened by name (open /dev/net/tun + TUNSETIFF), as Firecracker, Cloud Hypervisor
//   or QEMU -netdev tap,ifname= open a handed-off TAP. Flags IFF_TAP | IFF_NO_PI, plus
//   IFF_VNET_HDR when asked (squib-netd creates handed-off TAPs with it,
//   platform/linux/tap_device.hpp; the opener's TUNSETIFF sets the flags, tun.c
//   tun_set_iff()): then every frame carries a zeroed virtio-net header (TUNGETVNETHDRSZ, 10
//   bytes by default: no offloads), added on write and stripped on read. Single queue (the
//   daemon makes a multi-queue TAP only when `queues` > 1). Non-blocking fd; writes never
//   block (a TAP write runs the bridge in the writer's context; a full receiver drops).
// Frames are read one syscall each on a TAP (there is no recvmmsg for it), up to a batch per
// call on a socket. No allocation per frame: buffers are made in the constructor.

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace squib::bench {

inline constexpr std::size_t k_endpoint_batch = 64;
inline constexpr std::size_t k_endpoint_max_frame = 65536;

class Endpoint {
 public:
  static Endpoint socket(const std::string& target, const std::string& local);
  static Endpoint tap(const std::string& ifname, bool vnet_hdr);
  ~Endpoint();
  Endpoint(Endpoint&& other) noexcept;
  Endpoint& operator=(Endpoint&&) = delete;
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // Sends `frames` (each a whole Ethernet frame, at most k_endpoint_batch). Returns how many
  // went out; fewer when the kernel refused one (a TAP without carrier, ENOBUFS) or a socket
  // peer stayed full for 0.5 s (SO_SNDTIMEO). Blocks on a full socket peer until then.
  std::size_t send(std::span<const std::span<const std::uint8_t>> frames);
  // Waits up to `timeout_ms` for frames and returns how many were read (up to
  // k_endpoint_batch); frame(i) is the i-th, without any virtio-net header.
  std::size_t receive(int timeout_ms);
  [[nodiscard]] std::span<const std::uint8_t> frame(std::size_t i) const;
  [[nodiscard]] const std::string& name() const { return m_name; }
  // A TAP with a virtio-net header: frames sent get a GSO TCPV4 + NEEDS_CSUM header (TCP/IPv4
  // frames with a 20-byte IPv4 and TCP header, segment size `mss`), and TUNSETOFFLOAD lets
  // the kernel hand GSO frames to this TAP's reader whole.
  void set_gso(std::uint16_t mss);

 private:
  Endpoint(int fd, bool is_tap, std::size_t header, std::string name, std::string unlink_path);

  int m_fd = -1;
  bool m_is_tap = false;
  std::size_t m_header = 0;                    // virtio-net header bytes in front of each TAP frame
  std::array<std::uint8_t, 16> m_tx_header{};  // what send() puts there (zero: no offload)
  std::string m_name;
  std::string m_unlink;  // the socket's bound path, removed on destruction
  std::vector<std::uint8_t> m_rx_pool;
  std::array<std::size_t, k_endpoint_batch> m_rx_len{};
  std::array<iovec, k_endpoint_batch> m_iov{};
  std::array<mmsghdr, k_endpoint_batch> m_msgs{};
};

}  // namespace squib::bench
