#pragma once

// Dispatcher: one JSON-RPC request line in, one response line out (design brief §3).
// All protocol errors are produced here: -32700 malformed JSON, -32600 not a request,
// -32601 unknown method, -32602 bad params naming the field. No exception leaves handle():
// it runs inside a libuv read callback.

#include <chrono>
#include <string>
#include <string_view>

#include <squib/core/fd.hpp>
#include <squib/service/attachment_registry.hpp>
#include <squib/service/daemon_config.hpp>
#include <squib/service/peer_credentials.hpp>

namespace squib::service {

class Dispatcher {
public:
  Dispatcher(AttachmentRegistry& registry, const DaemonConfig& config);

  // Returns the response line without its newline. Every request is answered, a request
  // without an id (a notification) with id null, so a client can never wait forever.
  // `passed_fd` receives a file descriptor to send along with the reply (fd_passing).
  std::string handle(std::string_view line, const PeerCredentials& caller, core::Fd& passed_fd);
  // For transports that cannot pass fds: a passed fd, if any, is closed.
  std::string handle(std::string_view line, const PeerCredentials& caller) {
    core::Fd discarded;
    return handle(line, caller, discarded);
  }
  void set_shutting_down() { m_shutting_down = true; }

private:
  nlohmann::json status() const;

  AttachmentRegistry& m_registry;
  const DaemonConfig& m_config;
  std::chrono::steady_clock::time_point m_started_at = std::chrono::steady_clock::now();
  bool m_shutting_down = false;
};

}  // namespace squib::service
