// squib-bench oneway / oneway-pingpong: see oneway.hpp.

#include "oneway.hpp"

#include <arpa/inet.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "endpoint.hpp"
#include "report.hpp"

namespace squib::bench {
namespace {

using Mac = std::array<std::uint8_t, 6>;

constexpr std::size_t k_send_batch = 32;
constexpr std::uint16_t k_port_a = 40000;
constexpr std::uint16_t k_port_b = 40001;
constexpr std::size_t k_min_size = 14 + 20 + 8 + 8;  // Ethernet, IPv4, UDP, sequence number
constexpr std::uint64_t k_probe_seq = ~std::uint64_t{0};
// --gso: the MSS of a 1500-byte MTU (1500 - 20 - 20), what a guest's TSO uses there.
constexpr std::uint16_t k_gso_mss = 1460;

struct EndpointSpec {
  std::string tap;
  std::string target;
  std::string local;
};

struct Options {
  std::string command;
  EndpointSpec tx;
  EndpointSpec rx;
  bool vnet_hdr = false;
  // --gso: TCP/IPv4 frames instead of UDP (up to 65536 bytes: one TSO super-frame each), with
  // the TCP checksum field holding the pseudo-header sum as a guest's NEEDS_CSUM frame does;
  // TAP ends write them with a GSO TCPV4 virtio-net header (MSS 1460) and take GSO frames
  // back whole (TUNSETOFFLOAD). The paths of offload attachments (docs/performance.md,
  // "Offload mode").
  bool gso = false;
  Mac src_mac{};
  Mac dst_mac{};
  std::uint32_t src_ip = 0;  // network byte order
  std::uint32_t dst_ip = 0;
  std::size_t size = 1514;
  double duration_s = 3.0;
  std::uint64_t frames = 0;
  double ready_timeout_s = 5.0;
  double pingpong_s = 0.0;  // oneway: then ping-pong for this long on the same open path
  double settle_s = 0.0;    // oneway: B stays silent this long after the path is ready
  bool stalled = false;     // vm: never reads
  double rate = 0.0;        // blast: frames per second (0: as fast as A takes them)
  std::vector<int> cpu_of;  // relay processes whose CPU time the throughput run reports
  std::string label;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "squib-bench: %s\n"
               "usage: squib-bench oneway|oneway-pingpong (--tx-tap IF | --tx-target PATH --tx-local PATH)\n"
               "         (--rx-tap IF | --rx-target PATH --rx-local PATH) --src-mac MAC --src-ip IPV4\n"
               "         --dst-mac MAC --dst-ip IPV4 [--vnet-hdr] [--gso] [--size S] [--duration SEC | --frames N]\n"
               "         [--label TEXT] [--ready-timeout SEC] [--pingpong SEC] [--settle SEC] [--cpu-of PID]...\n"
               "       squib-bench blast --tx-target PATH --tx-local PATH --src-mac MAC --src-ip IPV4\n"
               "         --dst-mac MAC --dst-ip IPV4 [--size S] [--duration SEC] [--rate FPS] [--label TEXT]\n"
               "       squib-bench vm --rx-target PATH --rx-local PATH --dst-mac MAC --dst-ip IPV4 --src-ip IPV4\n"
               "         [--stalled]\n",
               why);
  std::exit(2);
}

Mac parse_mac(const std::string& text) {
  unsigned b[6] = {};
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
    usage("a MAC needs xx:xx:xx:xx:xx:xx");
  }
  Mac mac{};
  for (std::size_t k = 0; k < 6; ++k) mac[k] = static_cast<std::uint8_t>(b[k]);
  return mac;
}

std::uint32_t parse_ipv4(const std::string& text) {
  in_addr address{};
  if (::inet_pton(AF_INET, text.c_str(), &address) != 1) usage("an IPv4 address needs a.b.c.d");
  return address.s_addr;
}

Options parse(int argc, char** argv) {
  Options opt;
  opt.command = argv[1];
  bool have_src = false;
  bool have_dst = false;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--vnet-hdr") {
      opt.vnet_hdr = true;
      continue;
    }
    if (arg == "--gso") {
      opt.gso = true;
      continue;
    }
    if (arg == "--stalled") {
      opt.stalled = true;
      continue;
    }
    if (i + 1 >= argc) usage("option without a value");
    const std::string value = argv[++i];
    if (arg == "--tx-tap") {
      opt.tx.tap = value;
    } else if (arg == "--tx-target") {
      opt.tx.target = value;
    } else if (arg == "--tx-local") {
      opt.tx.local = value;
    } else if (arg == "--rx-tap") {
      opt.rx.tap = value;
    } else if (arg == "--rx-target") {
      opt.rx.target = value;
    } else if (arg == "--rx-local") {
      opt.rx.local = value;
    } else if (arg == "--src-mac") {
      opt.src_mac = parse_mac(value);
    } else if (arg == "--dst-mac") {
      opt.dst_mac = parse_mac(value);
    } else if (arg == "--src-ip") {
      opt.src_ip = parse_ipv4(value);
      have_src = true;
    } else if (arg == "--dst-ip") {
      opt.dst_ip = parse_ipv4(value);
      have_dst = true;
    } else if (arg == "--size") {
      opt.size = std::stoul(value);
    } else if (arg == "--duration") {
      opt.duration_s = std::stod(value);
    } else if (arg == "--frames") {
      opt.frames = std::stoull(value);
    } else if (arg == "--ready-timeout") {
      opt.ready_timeout_s = std::stod(value);
    } else if (arg == "--cpu-of") {
      opt.cpu_of.push_back(std::stoi(value));
    } else if (arg == "--pingpong") {
      opt.pingpong_s = std::stod(value);
    } else if (arg == "--rate") {
      opt.rate = std::stod(value);
    } else if (arg == "--settle") {
      opt.settle_s = std::stod(value);
    } else if (arg == "--label") {
      opt.label = value;
    } else {
      usage("unknown option");
    }
  }
  // blast has only A (tx), vm only B (rx).
  for (const EndpointSpec* spec : {&opt.tx, &opt.rx}) {
    if ((opt.command == "blast" && spec == &opt.rx) || (opt.command == "vm" && spec == &opt.tx)) continue;
    if (spec->tap.empty() == (spec->target.empty() || spec->local.empty())) {
      usage("each side needs either a TAP or a target and a local path");
    }
  }
  if (!have_src || !have_dst) usage("needs --src-ip and --dst-ip");
  if (opt.size < k_min_size || opt.size > k_endpoint_max_frame) usage("--size must be 50..65536");
  return opt;
}

Endpoint open(const EndpointSpec& spec, bool vnet_hdr, bool gso = false) {
  if (spec.tap.empty()) return Endpoint::socket(spec.target, spec.local);
  Endpoint tap = Endpoint::tap(spec.tap, vnet_hdr);
  if (gso) tap.set_gso(k_gso_mss);
  return tap;
}

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8U);
  p[1] = static_cast<std::uint8_t>(v);
}

// An Ethernet + IPv4 + UDP frame of `size` bytes (RFC 791 header checksum; no UDP checksum,
// which RFC 768 allows for IPv4).
void build_udp(std::uint8_t* f, std::size_t size, const Mac& src_mac, const Mac& dst_mac, std::uint32_t src_ip,
               std::uint32_t dst_ip, std::uint16_t src_port, std::uint16_t dst_port, bool tcp = false) {
  std::memset(f, 0, size);
  std::memcpy(f, dst_mac.data(), 6);
  std::memcpy(f + 6, src_mac.data(), 6);
  put16(f + 12, 0x0800);
  std::uint8_t* ip = f + 14;
  ip[0] = 0x45;
  put16(ip + 2, static_cast<std::uint16_t>(size - 14));
  ip[6] = 0x40;  // don't fragment
  ip[8] = 64;
  ip[9] = tcp ? 6 : 17;
  std::memcpy(ip + 12, &src_ip, 4);
  std::memcpy(ip + 16, &dst_ip, 4);
  std::uint32_t sum = 0;
  for (std::size_t k = 0; k < 20; k += 2) sum += (std::uint32_t{ip[k]} << 8U) | ip[k + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16U);
  put16(ip + 10, static_cast<std::uint16_t>(~sum));
  std::uint8_t* udp = ip + 20;
  put16(udp, src_port);
  put16(udp + 2, dst_port);
  put16(udp + 4, static_cast<std::uint16_t>(size - 34));
  for (std::size_t b = 50; b < size; ++b) f[b] = static_cast<std::uint8_t>(b);
  if (tcp) {  // RFC 9293 header (data offset 5, ACK|PSH) over the same ports
    std::memset(udp + 4, 0, 16);
    udp[12] = 0x50;
    udp[13] = 0x18;
    put16(udp + 14, 65535);
    std::uint32_t pseudo = 6 + static_cast<std::uint32_t>(size - 34);
    for (std::size_t k = 12; k < 20; k += 2) pseudo += (std::uint32_t{ip[k]} << 8U) | ip[k + 1];
    while (pseudo > 0xffff) pseudo = (pseudo & 0xffff) + (pseudo >> 16U);
    put16(udp + 16, static_cast<std::uint16_t>(pseudo));  // partial: the receiver completes it
  }
}

// The sequence number: after the UDP header, or after the TCP header with --gso.
void set_seq(std::uint8_t* f, std::uint64_t seq, bool tcp = false) {
  std::memcpy(f + (tcp ? 54 : 42), &seq, sizeof seq);
}

// An ARP request (RFC 826) from `mac`/`ip` for `target`: the frame a guest sends first.
std::vector<std::uint8_t> arp_request(const Mac& mac, std::uint32_t ip, std::uint32_t target) {
  std::vector<std::uint8_t> f(60, 0);
  std::memset(f.data(), 0xff, 6);
  std::memcpy(f.data() + 6, mac.data(), 6);
  put16(f.data() + 12, 0x0806);
  put16(f.data() + 14, 1);       // Ethernet
  put16(f.data() + 16, 0x0800);  // IPv4
  f[18] = 6;
  f[19] = 4;
  put16(f.data() + 20, 1);  // request
  std::memcpy(f.data() + 22, mac.data(), 6);
  std::memcpy(f.data() + 28, &ip, 4);
  std::memcpy(f.data() + 38, &target, 4);
  return f;
}

// Whether `f` is one of ours of the expected size, to `mac` and UDP port `port`.
bool matches(std::span<const std::uint8_t> f, std::size_t size, const Mac& mac, std::uint16_t port, bool tcp = false) {
  return f.size() == size && std::memcmp(f.data(), mac.data(), 6) == 0 && f[12] == 0x08 && f[13] == 0x00 &&
         f[23] == (tcp ? 6 : 17) && f[36] == static_cast<std::uint8_t>(port >> 8U) &&
         f[37] == static_cast<std::uint8_t>(port);
}

struct Path {
  explicit Path(const Options& options)
      : opt(options),
        tx(open(options.tx, options.vnet_hdr, options.gso)),
        rx(open(options.rx, options.vnet_hdr, options.gso)) {
    forward.resize(k_send_batch * opt.size);
    for (std::size_t i = 0; i < k_send_batch; ++i) {
      build_udp(forward.data() + i * opt.size, opt.size, opt.src_mac, opt.dst_mac, opt.src_ip, opt.dst_ip, k_port_a,
                k_port_b, opt.gso);
      forward_views[i] = std::span<const std::uint8_t>(forward.data() + i * opt.size, opt.size);
    }
    reply.resize(opt.size);
    build_udp(reply.data(), opt.size, opt.dst_mac, opt.src_mac, opt.dst_ip, opt.src_ip, k_port_b, k_port_a, opt.gso);
  }

  // Learn and probe until a probe arrives at B (see oneway.hpp), then drain both sides.
  bool make_ready() {
    const auto learn = arp_request(opt.dst_mac, opt.dst_ip, opt.src_ip);
    const std::array<std::span<const std::uint8_t>, 1> learn_view{std::span<const std::uint8_t>(learn)};
    const std::uint64_t until = now_ns() + static_cast<std::uint64_t>(opt.ready_timeout_s * 1e9);
    bool ready = false;
    while (!ready && now_ns() < until) {
      rx.send(learn_view);
      set_seq(forward.data(), k_probe_seq, opt.gso);
      tx.send(std::span(forward_views.data(), 1));
      const std::uint64_t wait_until = now_ns() + 100'000'000;
      while (!ready && now_ns() < wait_until) {
        const std::size_t n = rx.receive(20);
        for (std::size_t i = 0; i < n; ++i)
          ready = ready || matches(rx.frame(i), opt.size, opt.dst_mac, k_port_b, opt.gso);
      }
    }
    drain();
    return ready;
  }

  void drain() {
    const std::uint64_t until = now_ns() + 50'000'000;
    while (now_ns() < until && (rx.receive(10) > 0 || tx.receive(0) > 0)) {
    }
  }

  const Options& opt;
  Endpoint tx;
  Endpoint rx;
  std::vector<std::uint8_t> forward;  // k_send_batch frames A → B
  std::array<std::span<const std::uint8_t>, k_send_batch> forward_views{};
  std::vector<std::uint8_t> reply;  // one frame B → A
};

// CPU nanoseconds (user + system) used so far by the processes `pids`, all their threads
// (the first field of /proc/PID/task/TID/schedstat, Documentation/scheduler/sched-stats.rst).
std::uint64_t cpu_ns(const std::vector<int>& pids) {
  std::uint64_t total = 0;
  for (const int pid : pids) {
    std::error_code error;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", error)) {
      std::ifstream in(task.path() / "schedstat");
      std::uint64_t ns = 0;
      if (in >> ns) total += ns;
    }
  }
  return total;
}

// CPU nanoseconds (user + system, every thread) this process has used: the generator's own
// share of the path, which for a TAP includes the bridge's work done in the writer's context.
std::uint64_t own_cpu_ns() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto ns = [](const timeval& tv) {
    return static_cast<std::uint64_t>(tv.tv_sec) * 1000000000ULL + static_cast<std::uint64_t>(tv.tv_usec) * 1000ULL;
  };
  return ns(usage.ru_utime) + ns(usage.ru_stime);
}

void print_common(const Options& opt, const char* mode) {
  std::printf("{\"mode\":\"%s\",\"label\":\"%s\",\"size\":%zu", mode, opt.label.c_str(), opt.size);
}

int throughput(Path& path) {
  const Options& opt = path.opt;
  std::atomic<std::uint64_t> sent{0};
  std::atomic<bool> tx_done{false};
  std::atomic<std::uint64_t> tx_end{0};
  std::uint64_t received = 0;
  std::uint64_t other = 0;
  std::uint64_t last_rx = 0;
  const std::uint64_t cpu_before = cpu_ns(opt.cpu_of);
  const std::uint64_t own_before = own_cpu_ns();
  const std::uint64_t start = now_ns();
  std::thread receiver([&] {
    for (;;) {
      const std::size_t n = path.rx.receive(10);
      const std::uint64_t now = now_ns();
      for (std::size_t i = 0; i < n; ++i) {
        if (matches(path.rx.frame(i), opt.size, opt.dst_mac, k_port_b, opt.gso)) {
          ++received;
          last_rx = now;
        } else {
          ++other;
        }
      }
      if (tx_done.load() && (received >= sent.load() || now > tx_end.load() + 200'000'000)) break;
    }
  });
  const std::uint64_t deadline = start + static_cast<std::uint64_t>(opt.duration_s * 1e9);
  std::uint64_t seq = 0;
  std::uint64_t refused = 0;
  for (;;) {
    if (opt.frames > 0 ? seq >= opt.frames : now_ns() >= deadline) break;
    std::size_t count = k_send_batch;
    if (opt.frames > 0) count = static_cast<std::size_t>(std::min<std::uint64_t>(count, opt.frames - seq));
    for (std::size_t i = 0; i < count; ++i) set_seq(path.forward.data() + i * opt.size, seq + i, opt.gso);
    const std::size_t n = path.tx.send(std::span(path.forward_views.data(), count));
    if (n < count) ++refused;
    seq += n;
    sent.store(seq, std::memory_order_relaxed);
  }
  tx_end.store(now_ns());
  tx_done.store(true);
  receiver.join();
  const std::uint64_t relay_cpu = cpu_ns(opt.cpu_of) - cpu_before;
  const std::uint64_t own_cpu = own_cpu_ns() - own_before;
  const std::uint64_t counted = std::min(received, seq);
  const double elapsed = static_cast<double>((last_rx > start ? last_rx : now_ns()) - start) / 1e9;
  const double fps = static_cast<double>(counted) / elapsed;
  print_common(opt, "oneway");
  std::printf(
      ",\"elapsed_s\":%.4f,\"sent\":%llu,\"received\":%llu,\"drops\":%llu,\"frames_per_s\":%.1f"
      ",\"mbit_per_s\":%.2f,\"other\":%llu,\"refused\":%llu",
      elapsed, static_cast<unsigned long long>(seq), static_cast<unsigned long long>(received),
      static_cast<unsigned long long>(seq - counted), fps, fps * static_cast<double>(opt.size) * 8.0 / 1e6,
      static_cast<unsigned long long>(other), static_cast<unsigned long long>(refused));
  std::printf(",\"gen_cpu_ns_per_frame\":%.1f",
              static_cast<double>(own_cpu) / static_cast<double>(std::max<std::uint64_t>(counted, 1)));
  if (opt.cpu_of.empty() || counted == 0) {
    std::printf(",\"relay_cpu_ns_per_frame\":null}\n");
  } else {
    std::printf(",\"relay_cpu_ns_per_frame\":%.1f}\n", static_cast<double>(relay_cpu) / static_cast<double>(counted));
  }
  return 0;
}

// Waits up to 200 ms for one of ours at `at`; false on timeout.
bool await(Endpoint& at, std::size_t size, const Mac& mac, std::uint16_t port) {
  const std::uint64_t until = now_ns() + 200'000'000;
  while (now_ns() < until) {
    const std::size_t n = at.receive(20);
    bool found = false;
    for (std::size_t i = 0; i < n; ++i) found = found || matches(at.frame(i), size, mac, port);
    if (found) return true;
  }
  return false;
}

int pingpong(Path& path, double duration_s) {
  const Options& opt = path.opt;
  std::vector<std::uint64_t> rtts;
  rtts.reserve(opt.frames > 0 ? opt.frames : 1'000'000);
  const std::uint64_t deadline = now_ns() + static_cast<std::uint64_t>(duration_s * 1e9);
  const std::array<std::span<const std::uint8_t>, 1> reply_view{std::span<const std::uint8_t>(path.reply)};
  std::uint64_t lost = 0;
  std::uint64_t seq = 0;
  for (;;) {
    const std::uint64_t t0 = now_ns();
    if (opt.command == "oneway-pingpong" && opt.frames > 0 ? seq >= opt.frames : t0 >= deadline) break;
    set_seq(path.forward.data(), seq, opt.gso);
    set_seq(path.reply.data(), seq, opt.gso);
    ++seq;
    if (path.tx.send(std::span(path.forward_views.data(), 1)) != 1 ||
        !await(path.rx, opt.size, opt.dst_mac, k_port_b) || path.rx.send(reply_view) != 1 ||
        !await(path.tx, opt.size, opt.src_mac, k_port_a)) {
      ++lost;
      path.drain();
      continue;
    }
    rtts.push_back(now_ns() - t0);
  }
  print_common(opt, "pingpong");
  print_latency(rtts, lost);
  return 0;
}

// blast: A → B for --duration, nothing received (B may be a stalled VM): as fast as A takes
// them, or --rate frames per second (batches of 32 sent on schedule), so that the same load
// can be offered to a VM that reads and to one that does not. Prints {"mode":"blast",…,"sent":N}.
int blast(const Options& opt) {
  Endpoint tx = open(opt.tx, opt.vnet_hdr);
  std::vector<std::uint8_t> frames(k_send_batch * opt.size);
  std::array<std::span<const std::uint8_t>, k_send_batch> views{};
  for (std::size_t i = 0; i < k_send_batch; ++i) {
    build_udp(frames.data() + i * opt.size, opt.size, opt.src_mac, opt.dst_mac, opt.src_ip, opt.dst_ip, k_port_a,
              k_port_b);
    views[i] = std::span<const std::uint8_t>(frames.data() + i * opt.size, opt.size);
  }
  const std::uint64_t start = now_ns();
  const std::uint64_t deadline = start + static_cast<std::uint64_t>(opt.duration_s * 1e9);
  std::uint64_t sent = 0;
  std::uint64_t offered = 0;
  while (now_ns() < deadline) {
    if (opt.rate > 0) {
      const auto due = start + static_cast<std::uint64_t>(static_cast<double>(offered) / opt.rate * 1e9);
      const std::uint64_t now = now_ns();
      if (due > now) std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
    }
    offered += k_send_batch;
    sent += tx.send(views);
  }
  print_common(opt, "blast");
  std::printf(",\"sent\":%llu}\n", static_cast<unsigned long long>(sent));
  return 0;
}

volatile std::sig_atomic_t g_stop = 0;

// vm: an idle (or, with --stalled, a stuck) VMM on B's socket: it announces itself with one
// ARP request from --dst-mac/--dst-ip (so the relay learns it and the bridge has seen it),
// then reads and discards everything — or never reads, so its socket fills and the relay
// counts vm_full drops — until SIGTERM/SIGINT. Prints {"mode":"vm",…,"received":N}.
int vm(const Options& opt) {
  Endpoint rx = open(opt.rx, opt.vnet_hdr);
  const auto hello = arp_request(opt.dst_mac, opt.dst_ip, opt.src_ip);
  const std::array<std::span<const std::uint8_t>, 1> hello_view{std::span<const std::uint8_t>(hello)};
  if (rx.send(hello_view) != 1) return 1;
  struct sigaction stop {};
  stop.sa_handler = [](int) { g_stop = 1; };
  ::sigaction(SIGTERM, &stop, nullptr);
  ::sigaction(SIGINT, &stop, nullptr);
  std::uint64_t received = 0;
  while (g_stop == 0) {
    if (opt.stalled) {
      ::pause();
    } else {
      received += rx.receive(100);
    }
  }
  print_common(opt, "vm");
  std::printf(",\"received\":%llu}\n", static_cast<unsigned long long>(received));
  return 0;
}

}  // namespace

int oneway_main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  if (opt.command == "blast") return blast(opt);
  if (opt.command == "vm") return vm(opt);
  if (opt.command != "oneway" && opt.command != "oneway-pingpong") usage("unknown command");
  Path path(opt);
  if (!path.make_ready()) {
    std::fprintf(stderr, "squib-bench: %s: no frame from %s arrived at %s within %.1f s\n", opt.label.c_str(),
                 path.tx.name().c_str(), path.rx.name().c_str(), opt.ready_timeout_s);
    return 1;
  }
  if (opt.command == "oneway-pingpong") return pingpong(path, opt.duration_s);
  if (opt.settle_s > 0) {
    // B silent: a learned FDB entry of B's port would age out now (a receiver that only
    // receives, e.g. a UDP sink); the daemon's static entries do not.
    std::this_thread::sleep_for(std::chrono::duration<double>(opt.settle_s));
    path.drain();
  }
  throughput(path);
  if (opt.pingpong_s <= 0) return 0;
  path.drain();
  std::fflush(stdout);
  return pingpong(path, opt.pingpong_s);
}

}  // namespace squib::bench
