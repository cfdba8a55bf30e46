#pragma once

// ControlConnection: one accepted client of the control socket (ControlServer owns it).
//
// Contract:
// - begin() checks the peer's credentials and the per-uid limit first; a peer that may not
//   act, or one over the limit, gets one error line and is closed once it is written.
// - Requests are newline-delimited lines, dispatched one at a time in order: while a request
//   waits for its answer (a `start` whose network is being made) the next line waits too and
//   reading stops, so replies keep request order and the connection's memory stays one read
//   buffer plus one line. Blank lines are ignored; a line longer than max_line gets -32600
//   and the connection is closed after that reply.
// - The idle timer runs from the last complete request (not the last byte), so a client
//   trickling bytes without a newline is closed like an idle one (slowloris).
// - Replies are queued writes; a client that lets more than 1 MiB of them queue up is closed.
//   A reply carrying an fd (SCM_RIGHTS) is sent only when nothing else is queued.
// - After `subscribe` (open_stream) it is also an event stream: the hub pushes lines at any
//   time; a push that finds more than EventHub::k_max_queued_bytes unread is refused (the
//   hub counts it lost), so a slow subscriber loses events instead of being closed. A
//   streaming connection has no idle timeout (a subscriber only listens); it ends when the
//   client closes it.
// - The connection never destroys itself: it asks its server to (Context::drop), after which
//   nothing of it is touched. A reply arriving after that is discarded (its fd closes).

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

#include <squib/core/fd.hpp>
#include <squib/service/daemon_config.hpp>
#include <squib/service/dispatcher.hpp>
#include <squib/service/peer_credentials.hpp>
#include <squib/uv/handle.hpp>

namespace squib::service {

class ControlConnection {
 public:
  // What a connection needs of the server that holds it; outlives every connection.
  struct Context {
    const DaemonConfig& config;
    Dispatcher& dispatcher;
    // Destroys `connection` (the server owns it); nothing of it may be touched afterwards.
    std::function<void(ControlConnection* connection)> drop;
    // How many admitted connections `uid` holds (the per-uid limit).
    std::function<std::size_t(uid_t uid)> connections_of;
  };

  ControlConnection(uv_loop_t* loop, const Context& context);
  ~ControlConnection();
  ControlConnection(const ControlConnection&) = delete;
  ControlConnection& operator=(const ControlConnection&) = delete;

  // The pipe to uv_accept into.
  [[nodiscard]] uv_stream_t* stream() const { return reinterpret_cast<uv_stream_t*>(m_pipe.get()); }
  // Credentials checked and within the limits: counted against its uid from now on.
  [[nodiscard]] bool admitted_for(uid_t uid) const { return m_admitted && m_peer.uid == uid; }

  // Called once the pipe is accepted: checks the peer, then starts reading requests.
  void begin();
  // For a connection over the limit, before begin(): one best-effort, non-blocking write
  // of `line` and nothing queued, so the caller can close it at once. A fresh socket's send
  // buffer always holds one short line; a peer already gone (EPIPE) just misses it.
  void refuse(const std::string& line);

 private:
  struct WriteRequest;

  void start_reading();
  void restart_idle_timer();
  void on_data(std::string_view chunk);
  void process_lines();
  void answered(const std::string& reply, core::Fd passed_fd);
  void too_long();
  // Sends one final line and closes once it is written (or immediately on failure).
  void finish_with(const std::string& line);
  void send_with_fd(const std::string& line, int fd);
  void send(const std::string& line);
  std::optional<EventStream> open_stream();  // nullopt: already streaming
  bool push_event(const std::string& line);

  // Replies that arrive after the connection is gone see this expire.
  std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);
  const Context& m_context;
  uv::Handle<uv_pipe_t> m_pipe;
  uv::Handle<uv_timer_t> m_idle;
  PeerCredentials m_peer;
  std::string m_inbox;  // bytes read, not yet dispatched
  char m_read_buffer[16384];
  bool m_admitted = false;
  bool m_reading = false;
  bool m_waiting = false;      // a request is dispatched and not yet answered
  bool m_dispatching = false;  // inside process_lines
  bool m_closing = false;
  bool m_closing_immediately = false;
  bool m_streaming = false;             // subscribed: events are pushed, no idle timeout
  std::vector<WriteRequest*> m_writes;  // uv_write requests whose callback has not run yet
};

}  // namespace squib::service
