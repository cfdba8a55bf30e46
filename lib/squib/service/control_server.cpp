#include <squib/service/control_server.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include <squib/proto/jsonrpc.hpp>
#include <squib/uv/check.hpp>

namespace squib::service {

using core::Error;
using core::Result;

ControlServer::ControlServer(uv_loop_t* loop, const DaemonConfig& config, Dispatcher& dispatcher)
    : m_loop(loop),
      m_config(config),
      m_context{config, dispatcher, [this](ControlConnection* connection) { drop(connection); },
                [this](uid_t uid) { return connections_of(uid); }} {}

ControlServer::~ControlServer() { close(); }

Result<void> ControlServer::listen() {
  const std::string& path = m_config.control_path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return Error{EEXIST, path + " exists and is not a socket; refusing to replace it"};
    ::unlink(path.c_str());  // stale: the run-dir lock proves no other daemon owns it
  }
  if (const int rc = uv_pipe_init(m_loop, m_listener.get(), 0); rc != 0) {
    return Error{-rc, std::string("uv_pipe_init: ") + uv_strerror(rc)};
  }
  m_listener->data = this;
  const mode_t old_mask = ::umask(0117);  // created 0660, never briefly wider
  const int bound = uv_pipe_bind(m_listener.get(), path.c_str());
  ::umask(old_mask);
  if (bound != 0) return Error{-bound, "bind " + path + ": " + uv_strerror(bound)};
  if (::lchown(path.c_str(), 0, m_config.group.value_or(0)) != 0 && ::geteuid() == 0) {
    return Error::from_errno("chown " + path);
  }
  const int rc = uv_listen(reinterpret_cast<uv_stream_t*>(m_listener.get()), 128, [](uv_stream_t* server, int status) {
    auto* self = uv::owner_of<ControlServer>(server);
    if (self != nullptr && status == 0) self->on_connection();
  });
  if (rc != 0) return Error{-rc, "listen " + path + ": " + uv_strerror(rc)};
  m_listening = true;
  spdlog::info("control socket listening at {}", path);
  return {};
}

void ControlServer::on_connection() {
  auto connection = std::make_unique<ControlConnection>(m_loop, m_context);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(m_listener.get()), connection->stream()) != 0) return;
  if (m_connections.size() >= m_config.max_connections) {
    // Refused synchronously and closed here (the unique_ptr goes out of scope): a refused
    // connection holds no fd and no list entry while a write completes, so a connection
    // flood costs at most max_connections fds. (Refusals that waited for their write
    // callback piled up by the thousand while libuv's accept loop drained the backlog, and
    // kept the limit reached long after the flood: tests/integration/abuse_test.cpp.)
    spdlog::warn("control: {} connections open (the limit); refusing one", m_config.max_connections);
    connection->refuse(
        proto::encode_error(nullptr, proto::ErrorCode::limit_reached,
                            "too many control connections (limit " + std::to_string(m_config.max_connections) + ")"));
    return;
  }
  ControlConnection* raw = connection.get();
  m_connections.push_back(std::move(connection));
  raw->begin();
}

std::size_t ControlServer::connections_of(uid_t uid) const {
  return static_cast<std::size_t>(
      std::count_if(m_connections.begin(), m_connections.end(),
                    [uid](const auto& connection) { return connection->admitted_for(uid); }));
}

void ControlServer::drop(ControlConnection* connection) {
  // Destroying a ControlConnection closes its handles; no callback of it runs afterwards, and
  // pending writes complete with UV_ECANCELED (handled in the write callback).
  m_connections.remove_if([connection](const auto& p) { return p.get() == connection; });
}

void ControlServer::close() {
  m_connections.clear();
  if (m_listening) {
    m_listener.close();
    ::unlink(m_config.control_path.c_str());
    m_listening = false;
  }
}

}  // namespace squib::service
