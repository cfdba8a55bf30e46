#pragma once

// Dispatcher: one JSON-RPC request line in, one response line out (design brief §3).
// All protocol errors are produced here: -32700 malformed JSON, -32600 not a request,
// -32601 unknown method, -32602 bad params naming the field. No exception leaves handle():
// it runs inside a libuv read callback.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <squib/core/fd.hpp>
#include <squib/proto/messages.hpp>
#include <squib/proto/observability.hpp>
#include <squib/service/attachment_registry.hpp>
#include <squib/service/daemon_config.hpp>
#include <squib/service/event_hub.hpp>
#include <squib/service/peer_credentials.hpp>
#include <squib/uv/loop_lag_probe.hpp>

namespace squib::service {

class Dispatcher {
 public:
  // `lag`, when given, is reported by `status` as `loop` (the daemon's probe).
  Dispatcher(AttachmentRegistry& registry, const DaemonConfig& config, const uv::LoopLagProbe* lag = nullptr);

  // `reply` gets the response line (without its newline) and a file descriptor to send
  // along with it (fd_passing; empty otherwise). Every request is answered exactly once, a
  // request without an id (a notification) with id null, so a client can never wait
  // forever. Most methods answer before handle() returns; `start` answers when its
  // attachment runs or has failed (AttachmentRegistry::start), and the loop keeps serving
  // everyone meanwhile. A transport keeps a connection's replies in request order by not
  // dispatching its next line before this one is answered.
  using Reply = std::function<void(std::string line, core::Fd passed_fd)>;
  // `open_stream` turns the caller's connection into an event stream (`subscribe`); a
  // transport that cannot stream passes none and `subscribe` is refused there. It returns
  // nullopt when the connection is a stream already: one subscription per connection (a
  // second one would deliver every event twice).
  using OpenStream = std::function<std::optional<EventStream>()>;
  void handle(std::string_view line, const PeerCredentials& caller, Reply reply,
              const OpenStream& open_stream = nullptr);
  // Where `subscribe` registers its streams (the daemon's hub); none: `subscribe` is refused.
  void set_event_hub(EventHub* hub) { m_events = hub; }
  void set_shutting_down() { m_shutting_down = true; }
  // Where `metrics` and `status` read the number of open control connections (the server,
  // made after the dispatcher); 0 until set.
  void set_connection_count(std::function<std::size_t()> count) { m_connection_count = std::move(count); }
  // The Prometheus exposition of what `caller` may see (its own attachments; root: all) and
  // of the daemon: the `metrics` result, and --metrics-textfile's content (as root).
  [[nodiscard]] proto::MetricsResult metrics(const PeerCredentials& caller) const;

 private:
  [[nodiscard]] proto::StatusResult status() const;

  AttachmentRegistry& m_registry;
  const DaemonConfig& m_config;
  const uv::LoopLagProbe* m_lag;
  std::function<std::size_t()> m_connection_count;
  EventHub* m_events = nullptr;
  std::chrono::steady_clock::time_point m_started_at = std::chrono::steady_clock::now();
  bool m_shutting_down = false;
};

}  // namespace squib::service
