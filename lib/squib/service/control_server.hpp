#pragma once

// ControlServer: the AF_UNIX SOCK_STREAM control socket (design brief §3): it listens,
// accepts and enforces the connection limits; each client is a ControlConnection
// (control_connection.hpp: credentials, line reading, request order, replies, idle timer).
//
// - The socket file is created mode 0660 (root:group) by bind() under a narrowed umask.
// - Each accepted connection's peer credentials are checked first; a peer that may not act
//   gets one -32003 error line and is closed (and logged).
// - Requests are newline-delimited; a line longer than max_line gets -32600 and the
//   connection is closed after the reply (an endless line is otherwise unbounded memory).
// - Connections idle for idle_timeout are closed (slowloris); at most max_connections are
//   served, extra ones get -32005 and are closed. A client that does not read its replies
//   is closed once 1 MiB of replies is queued, so it cannot grow the daemon's memory.
// - A uid other than root holds at most max_connections_per_uid admitted connections; one
//   more gets -32005 naming that limit and is closed, so one member cannot take every slot.

#include <functional>
#include <list>
#include <memory>
#include <string>

#include <uv.h>

#include <squib/core/result.hpp>
#include <squib/service/control_connection.hpp>
#include <squib/service/daemon_config.hpp>
#include <squib/service/dispatcher.hpp>
#include <squib/uv/handle.hpp>

namespace squib::service {

class ControlServer {
 public:
  ControlServer(uv_loop_t* loop, const DaemonConfig& config, Dispatcher& dispatcher);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  core::Result<void> listen();
  // Stops accepting, closes every connection and removes the socket file.
  void close();
  [[nodiscard]] std::size_t connections() const { return m_connections.size(); }

 private:
  void on_connection();
  void drop(ControlConnection* connection);
  [[nodiscard]] std::size_t connections_of(uid_t uid) const;

  uv_loop_t* m_loop;
  const DaemonConfig& m_config;
  ControlConnection::Context m_context;  // what every connection sees of this server
  uv::Handle<uv_pipe_t> m_listener;
  std::list<std::unique_ptr<ControlConnection>> m_connections;
  bool m_listening = false;
};

}  // namespace squib::service
