#pragma once

// ControlClient: a blocking client of the control socket for squib-netctl and tests.
// One request at a time: write a line, read a line. Every call has a deadline so a stuck
// daemon cannot hang the CLI forever.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include <squib/core/result.hpp>
#include <squib/proto/jsonrpc.hpp>

namespace squib::proto {

class ControlClient {
public:
  static core::Result<ControlClient> connect(const std::string& path,
                                             std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Takes ownership of a socket already connected to the daemon (e.g. one a test connected
  // under another uid and passed over SCM_RIGHTS).
  static ControlClient adopt(int connected_fd, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return ControlClient(connected_fd, timeout);
  }
  ControlClient(ControlClient&& other) noexcept;
  ControlClient& operator=(ControlClient&& other) noexcept;
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;
  ~ControlClient();

  // Sends one request and waits for its response. A transport failure is an Error; a
  // JSON-RPC error reply is a Response with ok() == false.
  core::Result<Response> call(std::string_view method, const json& params);
  // Sends raw bytes (tests use this for malformed input) and reads one response line.
  core::Result<std::string> exchange_raw(std::string_view bytes);
  // Reads one line (without the newline).
  core::Result<std::string> read_line();
  // Gives up the connected socket: the caller owns it, this client is closed.
  int release() { return std::exchange(m_fd, -1); }
  // A file descriptor that arrived with SCM_RIGHTS on the last read, or -1; the caller owns it.
  int take_received_fd();

private:
  explicit ControlClient(int fd, std::chrono::milliseconds timeout) : m_fd(fd), m_timeout(timeout) {}
  core::Result<void> write_all(std::string_view bytes);

  int m_fd = -1;
  std::chrono::milliseconds m_timeout;
  std::string m_buffer;
  std::uint64_t m_next_id = 1;
  int m_received_fd = -1;
};

}  // namespace squib::proto
