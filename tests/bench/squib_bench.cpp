// squib-bench: a load generator that plays the VMM on a per-VM AF_UNIX datagram socket.
//
//   squib-bench throughput --target PATH --local PATH [--size S] [--window W]
//                          [--duration SEC | --frames N] [--src-mac MAC]
//   squib-bench pingpong   --target PATH --local PATH [--size S] [--duration SEC | --frames N]
//   (either with --target stream:PATH [--udp GUEST_IP[:GPORT],GATEWAY_IP:PORT]: passt driven directly;
//    or --target streamfd:N: the same on an inherited connected stream socket, a handed-off passt's)
//   squib-bench reflect    --listen PATH
//   squib-bench oneway|oneway-pingpong|blast|vm ...   (one direction A -> B over sockets or
//                                             TAPs; idle and stalled VMMs: oneway.hpp)
//
// throughput: binds --local, connect()s to --target (as QEMU's -netdev dgram does) and keeps
//   at most --window frames in flight: it sends with sendmmsg in batches of up to 32 whenever
//   the window has room and collects echoes with recvmmsg (MSG_WAITFORONE, up to 64 per call),
//   so the generator costs a fraction of a syscall per frame and is not the bottleneck. A
//   frame that does not come back within 50 ms is presumed lost and leaves the window.
//   Prints one JSON object: sent, received, drops (= sent - received after a drain),
//   frames_per_s and mbit_per_s (of received frames, one direction, Ethernet frame bytes).
// pingpong: window 1; one frame out, wait for it to come back, record the round trip time.
//   Prints p50/p90/p99/max in microseconds.
// reflect: the LIMIT scenario's far end: binds --listen and sends every datagram straight
//   back to its sender, recvmmsg/sendmmsg in batches of 32. Runs until SIGTERM/SIGINT.
//
// Frames are Ethernet-shaped: dst ff:ff:ff:ff:ff:ff, src --src-mac (the attachment's MAC, so
// squib-netd's anti-spoofing passes them), EtherType 0x88b5, a 64-bit sequence number, filler.
// With --udp they are UDP datagrams from the guest's address to the gateway instead
// (udp_workload.hpp): the generator first resolves the gateway's MAC by ARP, then counts only
// the echoes (UDP from the gateway's PORT back to it) and ignores whatever else arrives.
// --target stream:PATH connects to passt's --socket PATH as QEMU's -netdev stream does (no
// --local): each frame is preceded by its length, 4 bytes big-endian (passt tap.c); a batch
// goes out in one writev, and the byte stream read back is cut into frames with every length
// checked (0 or more than 65536 ends the run: the peer broke the protocol).
// throughput, pingpong and reflect stay on Unix sockets; only oneway touches TAPs (the ones
// scripts/bench makes or squib-netd hands over, in the network namespace the bench makes).

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oneway.hpp"
#include "report.hpp"
#include "udp_workload.hpp"

namespace {

using squib::bench::now_ns;
using squib::bench::print_latency;

constexpr std::size_t k_send_batch = 32;
constexpr std::size_t k_recv_batch = 64;
constexpr std::size_t k_max_frame = 65536;
constexpr int k_buffer_bytes = 4 * 1024 * 1024;
constexpr std::string_view k_stream_prefix = "stream:";
constexpr std::string_view k_stream_fd_prefix = "streamfd:";  // an inherited, connected stream socket
constexpr std::size_t k_stream_header = 4;                    // QEMU stream framing: 32-bit big-endian length

struct Options {
  std::string command;
  std::string target;
  std::string local;
  std::string listen;
  std::size_t size = 1514;
  std::size_t window = 64;
  double duration_s = 3.0;
  std::uint64_t frames = 0;  // 0: bounded by duration instead
  std::array<std::uint8_t, 6> src_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  std::string label;
  std::optional<squib::bench::UdpWorkload> udp;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "squib-bench: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "squib-bench: %s\n"
               "usage: squib-bench throughput|pingpong --target PATH --local PATH [--size S] [--window W]\n"
               "                   [--duration SEC | --frames N] [--src-mac MAC] [--label TEXT]\n"
               "       squib-bench reflect --listen PATH\n",
               why);
  std::exit(2);
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) usage("socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

void size_buffers(int fd) {
  for (const int option : {SO_SNDBUFFORCE, SO_RCVBUFFORCE}) {
    if (::setsockopt(fd, SOL_SOCKET, option, &k_buffer_bytes, sizeof k_buffer_bytes) != 0) {
      const int fallback = option == SO_SNDBUFFORCE ? SO_SNDBUF : SO_RCVBUF;
      ::setsockopt(fd, SOL_SOCKET, fallback, &k_buffer_bytes, sizeof k_buffer_bytes);
    }
  }
}

int bound_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  size_buffers(fd);
  ::unlink(path.c_str());
  const auto addr = unix_address(path);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) die("bind " + path);
  return fd;
}

Options parse(int argc, char** argv) {
  if (argc < 2) usage("missing command");
  Options opt;
  opt.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) usage("option without a value");
    const std::string value = argv[++i];
    if (arg == "--target") {
      opt.target = value;
    } else if (arg == "--local") {
      opt.local = value;
    } else if (arg == "--listen") {
      opt.listen = value;
    } else if (arg == "--size") {
      opt.size = std::stoul(value);
    } else if (arg == "--window") {
      opt.window = std::stoul(value);
    } else if (arg == "--duration") {
      opt.duration_s = std::stod(value);
    } else if (arg == "--frames") {
      opt.frames = std::stoull(value);
    } else if (arg == "--label") {
      opt.label = value;
    } else if (arg == "--udp") {
      opt.udp = squib::bench::parse_udp_workload(value);
      if (!opt.udp) usage("--udp needs GUEST_IP[:GUEST_PORT],GATEWAY_IP:PORT");
    } else if (arg == "--src-mac") {
      unsigned b[6] = {};
      if (std::sscanf(value.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
        usage("--src-mac needs xx:xx:xx:xx:xx:xx");
      }
      for (std::size_t k = 0; k < 6; ++k) opt.src_mac[k] = static_cast<std::uint8_t>(b[k]);
    } else {
      usage("unknown option");
    }
  }
  if (opt.size < 22 || opt.size > k_max_frame) usage("--size must be 22..65536");
  if (opt.window < 1) usage("--window must be at least 1");
  if (opt.udp && opt.size < squib::bench::k_udp_min_frame) usage("--size must be at least 50 with --udp");
  if (opt.udp && opt.size > 14 + 65535) usage("--size must be at most 65549 with --udp");
  return opt;
}

// ---------------------------------------------------------------------------------------------
// reflect

volatile sig_atomic_t g_stop = 0;

int reflect(const Options& opt) {
  if (opt.listen.empty()) usage("reflect needs --listen");
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  const int fd = bound_socket(opt.listen);
  std::vector<std::uint8_t> pool(k_send_batch * k_max_frame);
  std::array<sockaddr_un, k_send_batch> from{};
  std::array<iovec, k_send_batch> iov{};
  std::array<mmsghdr, k_send_batch> msgs{};
  std::uint64_t frames = 0;
  std::uint64_t calls = 0;
  while (g_stop == 0) {
    for (std::size_t i = 0; i < k_send_batch; ++i) {
      iov[i] = iovec{pool.data() + i * k_max_frame, k_max_frame};
      msgs[i].msg_hdr = msghdr{};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_un);
    }
    const int n = ::recvmmsg(fd, msgs.data(), k_send_batch, MSG_WAITFORONE, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("recvmmsg");
    }
    ++calls;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) iov[i].iov_len = msgs[i].msg_len;
    // Answer in one sendmmsg; a full sender socket drops (counted as drops by the generator).
    int done = 0;
    while (done < n) {
      const int sent =
          ::sendmmsg(fd, &msgs[static_cast<std::size_t>(done)], static_cast<unsigned>(n - done), MSG_DONTWAIT);
      if (sent <= 0) break;
      done += sent;
    }
    frames += static_cast<std::uint64_t>(n);
  }
  std::fprintf(stderr, "reflect: %llu frames in %llu recvmmsg calls\n", static_cast<unsigned long long>(frames),
               static_cast<unsigned long long>(calls));
  ::close(fd);
  ::unlink(opt.listen.c_str());
  return 0;
}

// ---------------------------------------------------------------------------------------------
// generator

// The generator's link to the relay under test: an AF_UNIX datagram socket bound at --local
// and connect()ed to --target (QEMU -netdev dgram), or with --target stream:PATH a stream
// socket connected to PATH (QEMU -netdev stream; passt --socket). Buffers are made once.
struct Generator {
  explicit Generator(const Options& options) : opt(options) {
    const std::string_view target = opt.target;
    stream = target.starts_with(k_stream_prefix) || target.starts_with(k_stream_fd_prefix);
    if (target.starts_with(k_stream_fd_prefix)) {
      // passt's socket as squib-netd hands it off (`start` userspace, handoff "fd"), inherited
      // from squib-netctl --exec: already connected, used as it is.
      const std::string number(target.substr(k_stream_fd_prefix.size()));
      char* end = nullptr;
      const long inherited = std::strtol(number.c_str(), &end, 10);
      if (number.empty() || *end != '\0' || inherited < 0) usage("--target streamfd:N needs a descriptor number");
      fd = static_cast<int>(inherited);
      int type = 0;
      socklen_t length = sizeof type;
      if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0 || type != SOCK_STREAM) {
        usage("--target streamfd:N: N is not a stream socket");
      }
      size_buffers(fd);
      rx_stream.resize(4 * (k_stream_header + k_max_frame));
    } else if (stream) {
      const std::string path(target.substr(k_stream_prefix.size()));
      fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) die("socket");
      size_buffers(fd);
      const auto remote = unix_address(path);
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&remote), sizeof remote) != 0) die("connect " + path);
      rx_stream.resize(4 * (k_stream_header + k_max_frame));
    } else {
      if (opt.target.empty() || opt.local.empty()) usage("needs --target and --local");
      fd = bound_socket(opt.local);
      const auto remote = unix_address(opt.target);
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&remote), sizeof remote) != 0) die("connect " + opt.target);
    }
    rx_pool.resize(k_recv_batch * k_max_frame);
    for (std::size_t i = 0; i < k_recv_batch; ++i) {
      rx_iov[i] = iovec{rx_pool.data() + i * k_max_frame, k_max_frame};
      rx_msgs[i].msg_hdr.msg_iov = &rx_iov[i];
      rx_msgs[i].msg_hdr.msg_iovlen = 1;
    }
    squib::bench::Mac dst{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (opt.udp) dst = resolve_gateway();
    // Template frames: one per send slot, so a batch never reuses a buffer in flight.
    tx_pool.resize(k_send_batch * opt.size);
    const std::uint32_t length = static_cast<std::uint32_t>(opt.size);
    const std::array<std::uint8_t, k_stream_header> prefix{
        static_cast<std::uint8_t>(length >> 24), static_cast<std::uint8_t>(length >> 16),
        static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
    for (std::size_t i = 0; i < k_send_batch; ++i) {
      auto* f = tx_pool.data() + i * opt.size;
      if (opt.udp) {
        squib::bench::write_udp_frame({f, opt.size}, opt.src_mac, dst, *opt.udp);
      } else {
        std::memcpy(f, dst.data(), 6);
        std::memcpy(f + 6, opt.src_mac.data(), 6);
        f[12] = 0x88;
        f[13] = 0xb5;
        for (std::size_t b = 22; b < opt.size; ++b) f[b] = static_cast<std::uint8_t>(b);
      }
      tx_iov[i] = iovec{f, opt.size};
      tx_msgs[i].msg_hdr.msg_iov = &tx_iov[i];
      tx_msgs[i].msg_hdr.msg_iovlen = 1;
      tx_prefix[i] = prefix;
      tx_stream_iov[2 * i] = iovec{tx_prefix[i].data(), k_stream_header};
      tx_stream_iov[2 * i + 1] = tx_iov[i];
    }
  }
  ~Generator() {
    ::close(fd);
    if (!stream) ::unlink(opt.local.c_str());
  }
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  void set_receive_timeout(std::uint64_t us) const {
    timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  // Sends up to `count` frames; returns how many the kernel took (0 on EAGAIN). On a stream
  // the whole batch goes out (a blocking writev, finished when the kernel takes part of it):
  // the window bounds what is in flight far below the socket buffers.
  std::size_t send(std::size_t count) {
    count = std::min(count, k_send_batch);
    const std::size_t seq_at = opt.udp ? squib::bench::k_udp_seq_offset : 14;
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint64_t seq = next_seq++;
      std::memcpy(static_cast<std::uint8_t*>(tx_iov[i].iov_base) + seq_at, &seq, sizeof seq);
    }
    ++send_calls;
    if (stream) {
      std::copy_n(tx_stream_iov.begin(), 2 * count, tx_scratch.begin());  // write_all edits it
      write_all(tx_scratch.data(), 2 * count);
      return count;
    }
    const int n = ::sendmmsg(fd, tx_msgs.data(), static_cast<unsigned>(count), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR) {
        ++send_full;
        next_seq -= count;
        return 0;
      }
      die("sendmmsg " + opt.target);
    }
    next_seq -= count - static_cast<std::size_t>(n);
    return static_cast<std::size_t>(n);
  }

  // Waits (up to the socket's receive timeout) for at least one frame; returns how many of
  // the frames read count: all of them, or with --udp the echoes only.
  std::size_t receive(bool wait) {
    ++recv_calls;
    counted = 0;
    if (stream) {
      receive_stream(wait);
      return counted;
    }
    const int n = ::recvmmsg(fd, rx_msgs.data(), k_recv_batch, wait ? MSG_WAITFORONE : MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
      die("recvmmsg");
    }
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
      on_frame({static_cast<const std::uint8_t*>(rx_iov[i].iov_base), rx_msgs[i].msg_len});
    }
    return counted;
  }

  // One read of the byte stream (whatever is there, up to the free buffer), then every
  // complete frame in it; a partial one waits at the front for the next read.
  void receive_stream(bool wait) {
    const ssize_t n = ::recv(fd, rx_stream.data() + rx_have, rx_stream.size() - rx_have, wait ? 0 : MSG_DONTWAIT);
    if (n == 0) {
      errno = ECONNRESET;
      die("peer closed " + opt.target);
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      die("recv " + opt.target);
    }
    rx_have += static_cast<std::size_t>(n);
    std::size_t at = 0;
    while (rx_have - at >= k_stream_header) {
      const std::uint8_t* p = rx_stream.data() + at;
      const std::size_t length =
          (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
      if (length == 0 || length > k_max_frame) {
        errno = EPROTO;
        die("frame length " + std::to_string(length) + " from " + opt.target);
      }
      if (rx_have - at - k_stream_header < length) break;
      on_frame({p + k_stream_header, length});
      at += k_stream_header + length;
    }
    std::memmove(rx_stream.data(), rx_stream.data() + at, rx_have - at);
    rx_have -= at;
  }

  void on_frame(std::span<const std::uint8_t> frame) {
    if (opt.udp) {
      if (const auto mac = squib::bench::arp_reply_from_gateway(frame, *opt.udp)) {
        gateway_mac = *mac;
        return;
      }
      if (!squib::bench::is_udp_echo(frame, *opt.udp)) {
        ++other_frames;  // passt's other traffic (e.g. IPv6 neighbour discovery): not ours
        return;
      }
    }
    if (frame.size() != opt.size) ++wrong_size;
    ++counted;
  }

  void write_all(iovec* iov, std::size_t count) {
    while (count > 0) {
      ssize_t n = ::writev(fd, iov, static_cast<int>(count));
      if (n < 0) {
        if (errno == EINTR) continue;
        die("writev " + opt.target);
      }
      while (count > 0 && static_cast<std::size_t>(n) >= iov->iov_len) {
        n -= static_cast<ssize_t>(iov->iov_len);
        ++iov;
        --count;
      }
      if (count > 0) {  // a partial write: the rest of this iovec first (it is ours to edit)
        iov->iov_base = static_cast<std::uint8_t*>(iov->iov_base) + n;
        iov->iov_len -= static_cast<std::size_t>(n);
      }
    }
  }

  // ARP for the gateway as a guest does, up to 5 tries 200 ms apart; exits if none answers.
  squib::bench::Mac resolve_gateway() {
    const auto request = squib::bench::arp_request(opt.src_mac, *opt.udp);
    set_receive_timeout(50'000);
    for (int attempt = 0; attempt < 5 && !gateway_mac; ++attempt) {
      if (stream) {
        const auto length = static_cast<std::uint32_t>(request.size());
        std::array<std::uint8_t, k_stream_header> prefix{0, 0, static_cast<std::uint8_t>(length >> 8),
                                                         static_cast<std::uint8_t>(length)};
        std::array<iovec, 2> iov{iovec{prefix.data(), prefix.size()},
                                 iovec{const_cast<std::uint8_t*>(request.data()), request.size()}};
        write_all(iov.data(), iov.size());
      } else if (::send(fd, request.data(), request.size(), 0) < 0) {
        die("send ARP request to " + opt.target);
      }
      const std::uint64_t until = squib::bench::now_ns() + 200'000'000;
      while (!gateway_mac && squib::bench::now_ns() < until) receive(true);
    }
    if (!gateway_mac) {
      errno = ETIMEDOUT;
      die("no ARP reply for the gateway from " + opt.target);
    }
    recv_calls = 0;
    other_frames = 0;
    return *gateway_mac;
  }

  const Options& opt;
  int fd = -1;
  bool stream = false;
  std::uint64_t next_seq = 0;
  std::uint64_t send_calls = 0;
  std::uint64_t send_full = 0;
  std::uint64_t recv_calls = 0;
  std::uint64_t wrong_size = 0;
  std::uint64_t other_frames = 0;
  std::size_t counted = 0;
  std::optional<squib::bench::Mac> gateway_mac;
  std::vector<std::uint8_t> tx_pool;
  std::vector<std::uint8_t> rx_pool;
  std::vector<std::uint8_t> rx_stream;
  std::size_t rx_have = 0;
  std::array<iovec, k_send_batch> tx_iov{};
  std::array<mmsghdr, k_send_batch> tx_msgs{};
  std::array<std::array<std::uint8_t, k_stream_header>, k_send_batch> tx_prefix{};
  std::array<iovec, 2 * k_send_batch> tx_stream_iov{};
  std::array<iovec, 2 * k_send_batch> tx_scratch{};
  std::array<iovec, k_recv_batch> rx_iov{};
  std::array<mmsghdr, k_recv_batch> rx_msgs{};
};

void print_common(const Options& opt, const char* mode) {
  std::printf("{\"mode\":\"%s\",\"label\":\"%s\",\"size\":%zu", mode, opt.label.c_str(), opt.size);
}

int throughput(const Options& opt) {
  Generator gen(opt);
  constexpr std::uint64_t k_loss_timeout_ns = 50'000'000;
  gen.set_receive_timeout(10'000);
  const std::uint64_t start = now_ns();
  const std::uint64_t deadline = start + static_cast<std::uint64_t>(opt.duration_s * 1e9);
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t presumed_lost = 0;
  std::uint64_t stalls = 0;
  std::uint64_t last_progress = start;
  std::uint64_t end = start;
  for (;;) {
    const std::uint64_t now = now_ns();
    const bool more = opt.frames > 0 ? sent < opt.frames : now < deadline;
    if (!more) break;
    // Fill the window. Late echoes of frames presumed lost give their place back.
    if (received + presumed_lost > sent) presumed_lost = sent - received;
    while (sent - received - presumed_lost < opt.window && (opt.frames == 0 || sent < opt.frames)) {
      std::size_t room = opt.window - static_cast<std::size_t>(sent - received - presumed_lost);
      if (opt.frames > 0) room = static_cast<std::size_t>(std::min<std::uint64_t>(room, opt.frames - sent));
      const std::size_t n = gen.send(room);
      if (n == 0) break;
      sent += n;
    }
    const std::size_t got = gen.receive(true);
    received += got;
    const std::uint64_t after = now_ns();
    if (got > 0) {
      last_progress = after;
    } else if (after - last_progress > k_loss_timeout_ns) {
      // Nothing came back for a while: what is in flight is lost; reopen the window.
      presumed_lost = sent - received;
      ++stalls;
      last_progress = after;
    }
    end = after;
  }
  // Drain: late echoes still count as received.
  const std::uint64_t drain_deadline = now_ns() + 200'000'000;
  while (received < sent && now_ns() < drain_deadline) received += gen.receive(true);
  const std::uint64_t counted = std::min(received, sent);
  const double elapsed = static_cast<double>(end - start) / 1e9;
  const double fps = static_cast<double>(counted) / elapsed;
  print_common(opt, "throughput");
  std::printf(
      ",\"window\":%zu,\"elapsed_s\":%.4f,\"sent\":%llu,\"received\":%llu,\"drops\":%llu"
      ",\"frames_per_s\":%.1f,\"mbit_per_s\":%.2f,\"stalls\":%llu,\"send_full\":%llu"
      ",\"send_calls\":%llu,\"recv_calls\":%llu,\"wrong_size\":%llu,\"other_frames\":%llu}\n",
      opt.window, elapsed, static_cast<unsigned long long>(sent), static_cast<unsigned long long>(received),
      static_cast<unsigned long long>(sent - counted), fps, fps * static_cast<double>(opt.size) * 8.0 / 1e6,
      static_cast<unsigned long long>(stalls), static_cast<unsigned long long>(gen.send_full),
      static_cast<unsigned long long>(gen.send_calls), static_cast<unsigned long long>(gen.recv_calls),
      static_cast<unsigned long long>(gen.wrong_size), static_cast<unsigned long long>(gen.other_frames));
  return 0;
}

int pingpong(const Options& opt) {
  Generator gen(opt);
  gen.set_receive_timeout(200'000);
  std::vector<std::uint64_t> rtts;
  rtts.reserve(opt.frames > 0 ? opt.frames : 1'000'000);
  const std::uint64_t start = now_ns();
  const std::uint64_t deadline = start + static_cast<std::uint64_t>(opt.duration_s * 1e9);
  std::uint64_t lost = 0;
  std::uint64_t sent = 0;
  for (;;) {
    const std::uint64_t t0 = now_ns();
    if (opt.frames > 0 ? sent >= opt.frames : t0 >= deadline) break;
    if (gen.send(1) != 1) continue;
    ++sent;
    if (gen.receive(true) == 0) {
      ++lost;  // 200 ms without an answer
      continue;
    }
    rtts.push_back(now_ns() - t0);
  }
  print_common(opt, "pingpong");
  print_latency(rtts, lost);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  if (argc >= 2 && (std::string_view(argv[1]).starts_with("oneway") || std::string_view(argv[1]) == "blast" ||
                    std::string_view(argv[1]) == "vm")) {
    return squib::bench::oneway_main(argc, argv);
  }
  const Options opt = parse(argc, argv);
  if (opt.command == "reflect") return reflect(opt);
  if (opt.command == "throughput") return throughput(opt);
  if (opt.command == "pingpong") return pingpong(opt);
  usage("unknown command");
}
