#include <squib/service/control_connection.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include <squib/proto/jsonrpc.hpp>
#include <squib/uv/check.hpp>

namespace squib::service {

namespace {

// A client that does not read its replies is closed once this much is queued for it, so it
// cannot grow the daemon's memory.
constexpr std::size_t k_max_queued_reply_bytes = 1024 * 1024;

}  // namespace

struct ControlConnection::WriteRequest {
  uv_write_t req{};
  std::string data;
};

ControlConnection::ControlConnection(uv_loop_t* loop, const Context& context) : m_context(context) {
  uv::ok(uv_pipe_init(loop, m_pipe.get(), 0), "control: uv_pipe_init");
  m_pipe->data = this;
  uv::ok(uv_timer_init(loop, m_idle.get()), "control: uv_timer_init");
  m_idle->data = this;
}

// libuv runs the callback of every write still queued when the pipe closes, and not only
// with UV_ECANCELED: a write that already completed or failed (EPIPE from a peer that went
// away) is reported with that status after the close. Those callbacks must not reach a
// destroyed connection, so each outstanding request forgets it here.
ControlConnection::~ControlConnection() {
  for (auto* request : m_writes) request->req.data = nullptr;
}

void ControlConnection::begin() {
  uv_os_fd_t fd = -1;
  uv_fileno(reinterpret_cast<uv_handle_t*>(m_pipe.get()), &fd);
  auto creds = peer_credentials(fd);
  if (!creds) {
    spdlog::warn("control: cannot read peer credentials: {}", creds.error().message);
    finish_with(proto::encode_error(nullptr, proto::ErrorCode::permission_denied, "cannot verify peer credentials"));
    return;
  }
  m_peer = creds.value();
  if (!may_control(m_peer, m_context.config.group)) {
    spdlog::warn("control: refused pid {} uid {} gid {}: not root and not in the control group", m_peer.pid, m_peer.uid,
                 m_peer.gid);
    finish_with(proto::encode_error(
        nullptr, proto::ErrorCode::permission_denied,
        "permission denied: uid " + std::to_string(m_peer.uid) + " is not root and not in the daemon's control group"));
    return;
  }
  if (m_peer.uid != 0) {
    const std::size_t held = m_context.connections_of(m_peer.uid);
    if (held >= m_context.config.max_connections_per_uid) {
      spdlog::warn("control: uid {} already has {} connections (the per-uid limit); refusing pid {}", m_peer.uid, held,
                   m_peer.pid);
      finish_with(proto::encode_error(nullptr, proto::ErrorCode::limit_reached,
                                      "uid " + std::to_string(m_peer.uid) + " already has " + std::to_string(held) +
                                          " control connections (the per-uid limit, --max-connections-per-uid)"));
      return;
    }
  }
  m_admitted = true;
  restart_idle_timer();
  start_reading();
}

void ControlConnection::start_reading() {
  m_reading = true;
  const int reading = uv_read_start(
      stream(),
      [](uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
        auto* self = uv::owner_of<ControlConnection>(handle);
        *buf = uv_buf_init(self->m_read_buffer, sizeof self->m_read_buffer);
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        auto* self = uv::owner_of<ControlConnection>(s);
        if (self == nullptr) return;
        if (n < 0) {
          self->m_context.drop(self);
        } else if (n > 0) {
          self->on_data({buf->base, static_cast<std::size_t>(n)});  // may destroy self
        }
      });
  uv::ok(reading, "uv_read_start");
}

void ControlConnection::refuse(const std::string& line) {
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(m_pipe.get()), &fd) != 0) return;
  const std::string data = line + "\n";
  ssize_t n = 0;
  do {
    n = ::send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
}

void ControlConnection::finish_with(const std::string& line) {
  m_closing = true;
  uv_read_stop(stream());
  send(line);
  if (m_closing_immediately) m_context.drop(this);
}

void ControlConnection::restart_idle_timer() {
  const int timer_started = uv_timer_start(
      m_idle.get(),
      [](uv_timer_t* timer) {
        auto* self = uv::owner_of<ControlConnection>(timer);
        if (self == nullptr) return;
        spdlog::info("control: closing connection of pid {} idle for {} ms", self->m_peer.pid,
                     self->m_context.config.idle_timeout.count());
        self->m_context.drop(self);
      },
      static_cast<std::uint64_t>(m_context.config.idle_timeout.count()), 0);
  uv::ok(timer_started, "uv_timer_start");
}

void ControlConnection::on_data(std::string_view chunk) {
  m_inbox.append(chunk);
  process_lines();
}

// Dispatches complete lines from the inbox, one at a time: while a request waits for its
// answer (a `start` whose network is being made), the next line waits too — replies keep
// request order — and reading stops, so a client pipelining requests cannot grow the
// inbox beyond one read. The idle timer runs from the last complete request, not from
// the last byte: a client trickling a byte per interval without a newline (slowloris) is
// closed like an idle one instead of holding a connection slot for as long as the line
// limit allows.
void ControlConnection::process_lines() {
  if (m_dispatching) return;  // a reply that came synchronously: the loop below goes on
  m_dispatching = true;
  while (!m_closing && !m_waiting) {
    const auto newline = m_inbox.find('\n');
    if (newline == std::string::npos) break;
    if (newline > m_context.config.max_line) {
      m_dispatching = false;
      return too_long();
    }
    std::string line = m_inbox.substr(0, newline);
    m_inbox.erase(0, newline + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines are ignored
    if (!m_streaming) restart_idle_timer();
    m_waiting = true;
    // The dispatcher may stop an attachment, never this connection; the reply may come
    // later, when this connection may be gone (m_alive says so).
    m_context.dispatcher.handle(
        line, m_peer,
        [this, alive = std::weak_ptr<bool>(m_alive)](std::string reply, core::Fd passed_fd) {
          if (alive.expired()) return;  // the client went away first: the fd closes here
          answered(reply, std::move(passed_fd));
        },
        [this] { return open_stream(); });
    if (m_closing_immediately) {
      m_dispatching = false;
      m_context.drop(this);  // destroys this: nothing of it may be touched after
      return;
    }
  }
  m_dispatching = false;
  if (m_waiting && m_reading) {
    // Waiting for an answer: read no more until it is sent (answered() resumes).
    uv_read_stop(stream());
    m_reading = false;
  }
  if (!m_closing && !m_waiting && m_inbox.size() > m_context.config.max_line) too_long();
}

void ControlConnection::answered(const std::string& reply, core::Fd passed_fd) {
  if (passed_fd) {
    send_with_fd(reply, passed_fd.get());  // our copy closes when passed_fd goes
  } else {
    send(reply);
  }
  m_waiting = false;
  if (m_dispatching) return;  // answered synchronously: process_lines continues
  if (m_closing_immediately) return m_context.drop(this);
  if (!m_reading && !m_closing) start_reading();
  process_lines();
}

std::optional<EventStream> ControlConnection::open_stream() {
  if (m_streaming) return std::nullopt;
  m_streaming = true;
  uv_timer_stop(m_idle.get());
  return EventStream{[this](const std::string& line) { return push_event(line); }, m_alive};
}

bool ControlConnection::push_event(const std::string& line) {
  if (m_closing || m_closing_immediately) return false;
  if (uv_stream_get_write_queue_size(stream()) > EventHub::k_max_queued_bytes) return false;
  send(line);
  return !m_closing_immediately;
}

void ControlConnection::too_long() {
  spdlog::warn("control: pid {} sent a request line over {} bytes; closing", m_peer.pid, m_context.config.max_line);
  m_inbox.clear();
  finish_with(proto::encode_error(nullptr, proto::ErrorCode::invalid_request,
                                  "request line exceeds " + std::to_string(m_context.config.max_line) + " bytes"));
}

// Sends the reply line with `fd` attached (SCM_RIGHTS). Only when nothing else is queued,
// so the fd travels with this reply's first byte; a reply that does not fit at once
// continues through the normal queue (the fd has already gone with the first part).
void ControlConnection::send_with_fd(const std::string& line, int fd) {
  uv_os_fd_t socket = -1;
  if (uv_stream_get_write_queue_size(stream()) != 0 ||
      uv_fileno(reinterpret_cast<uv_handle_t*>(m_pipe.get()), &socket) != 0) {
    send(proto::encode_error(nullptr, proto::ErrorCode::internal_error, "cannot pass the fd: replies are queued"));
    return;
  }
  const std::string data = line + "\n";
  iovec iov{const_cast<char*>(data.data()), data.size()};  // NOLINT: sendmsg reads only
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
  ssize_t n = 0;
  do {
    n = ::sendmsg(socket, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    spdlog::warn("control: cannot pass an fd to pid {}: {}", m_peer.pid, std::strerror(errno));
    m_closing_immediately = true;
    return;
  }
  if (static_cast<std::size_t>(n) < data.size()) {
    std::string rest = data.substr(static_cast<std::size_t>(n));
    rest.pop_back();  // send() adds the newline back
    send(rest);
  }
}

void ControlConnection::send(const std::string& line) {
  if (uv_stream_get_write_queue_size(stream()) > k_max_queued_reply_bytes) {
    spdlog::warn("control: pid {} does not read its replies; closing", m_peer.pid);
    m_closing_immediately = true;
    return;
  }
  auto* request = new WriteRequest{};
  request->data = line + "\n";
  request->req.data = this;
  const uv_buf_t buf = uv_buf_init(request->data.data(), static_cast<unsigned>(request->data.size()));
  const int rc = uv_write(&request->req, stream(), &buf, 1, [](uv_write_t* req, int status) {
    std::unique_ptr<WriteRequest> owned(reinterpret_cast<WriteRequest*>(req));
    auto* self = static_cast<ControlConnection*>(req->data);
    if (self == nullptr) return;  // the connection was closed first (see ~ControlConnection)
    std::erase(self->m_writes, owned.get());
    if (status == UV_ECANCELED) return;
    if (status < 0 || (self->m_closing && uv_stream_get_write_queue_size(self->stream()) == 0)) {
      self->m_context.drop(self);
    }
  });
  if (rc != 0) {
    delete request;
    m_closing_immediately = true;
    return;
  }
  m_writes.push_back(request);
}

}  // namespace squib::service
