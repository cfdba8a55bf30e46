#include "netctl_capture.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <vector>

#include <squib/proto/pcapng.hpp>

namespace squib::netctl {

namespace {

namespace pcapng = proto::pcapng;

volatile std::sig_atomic_t g_interrupted = 0;

// How long the daemon has to send its statistics after we shut our end: it sends them at
// once unless our socket is full, and we are draining it meanwhile.
constexpr std::chrono::seconds k_finish_timeout{5};

bool write_all(int fd, const std::byte* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

int open_capture_output(const std::string& output) {
  if (output == "-") {
    if (::isatty(STDOUT_FILENO) != 0) {
      std::cerr << "squib-netctl: capture: not writing pcapng to a terminal; use -w FILE or pipe it "
                   "(e.g. -w - | tshark -r -)\n";
      return -1;
    }
    return STDOUT_FILENO;
  }
  const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::cerr << "squib-netctl: capture: " << output << ": " << std::strerror(errno) << "\n";
  return fd;
}

int run_capture(int socket, int output, const proto::CaptureResult& capture, std::optional<std::uint64_t> count) {
  // No SA_RESTART: a signal interrupts poll(), and the loop below then finishes cleanly.
  struct sigaction action {};
  action.sa_handler = [](int) { g_interrupted = 1; };
  sigemptyset(&action.sa_mask);
  for (const int signum : {SIGINT, SIGTERM}) ::sigaction(signum, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a reader of stdout that quits is EPIPE, handled below

  const auto header = pcapng::file_header(capture.snaplen, capture.interface);
  bool writing = write_all(output, header.data(), header.size());
  std::vector<std::byte> record(pcapng::max_enhanced_packet_size(capture.snaplen) +
                                pcapng::k_interface_statistics_size);
  std::uint64_t captured = 0;
  std::uint64_t lost = 0;  // from the EPBs' drop counts, until the ISB gives the total
  bool statistics = false;
  bool finishing = false;
  std::chrono::steady_clock::time_point deadline;
  const auto finish = [&] {
    if (finishing) return;
    finishing = true;
    ::shutdown(socket, SHUT_WR);  // the daemon answers with its statistics, then EOF
    deadline = std::chrono::steady_clock::now() + k_finish_timeout;
  };
  while (true) {
    if (g_interrupted != 0 || !writing || (count && captured >= *count)) finish();
    int timeout_ms = -1;
    if (finishing) {
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) break;
      timeout_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(left).count()) + 1;
    }
    pollfd waiting{socket, POLLIN, 0};
    const int ready = ::poll(&waiting, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    const ssize_t n = ::recv(socket, record.data(), record.size(), MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;                                          // EOF: the daemon ended the capture
    if (static_cast<std::size_t>(n) > record.size()) continue;  // cannot happen: records fit snaplen
    const std::span<const std::byte> bytes(record.data(), static_cast<std::size_t>(n));
    const auto summary = pcapng::summarize(bytes);
    if (!summary) continue;
    if (summary->type == pcapng::k_enhanced_packet) {
      lost += summary->dropcount;
      if (count && captured >= *count) continue;  // beyond --count: not written
      ++captured;
    } else if (summary->type == pcapng::k_interface_statistics) {
      statistics = true;
      lost = summary->statistics.lost;
    }
    if (writing && !write_all(output, bytes.data(), bytes.size())) writing = false;
  }
  std::cerr << captured << (captured == 1 ? " frame" : " frames") << " captured, " << lost << " lost"
            << (statistics ? "" : " (the daemon sent no final statistics: more may have been lost)") << "\n";
  return 0;
}

}  // namespace squib::netctl
