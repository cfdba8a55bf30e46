#include <squib/relay/capture_session.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <spdlog/spdlog.h>

namespace squib::relay {

using core::Error;
using core::Result;

namespace {

std::uint64_t now_us() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

bool client_gone(int err) { return err == EPIPE || err == ECONNRESET || err == ECONNREFUSED || err == ENOTCONN; }

}  // namespace

CaptureSession::CaptureSession(core::Fd fd, const CaptureFilter& filter, std::size_t slot_size,
                               std::function<void()> ended)
    : m_fd(std::move(fd)),
      m_filter(filter),
      m_slot_size(slot_size),
      m_on_ended(std::move(ended)),
      m_buffer(core::k_batch_size * slot_size) {
  for (std::size_t i = 0; i < core::k_drop_reason_count; ++i) {
    m_comments[i] = "dropped by squib-netd: " + std::string(core::to_string(static_cast<core::DropReason>(i)));
  }
  for (std::size_t i = 0; i < core::k_batch_size; ++i) {
    m_messages[i].msg_hdr.msg_iov = &m_iovs[i];
    m_messages[i].msg_hdr.msg_iovlen = 1;
  }
}

Result<std::unique_ptr<CaptureSession>> CaptureSession::open(uv_loop_t* loop, core::Fd daemon_end,
                                                             const CaptureFilter& filter, std::size_t max_frame,
                                                             std::function<void()> ended) {
  const std::size_t slot = proto::pcapng::max_enhanced_packet_size(std::min<std::size_t>(filter.snaplen, max_frame));
  std::unique_ptr<CaptureSession> session(new CaptureSession(std::move(daemon_end), filter, slot, std::move(ended)));
  if (auto polling = session->start_polling(loop); !polling) return polling.error();
  return session;
}

CaptureSession::~CaptureSession() {
  // The attachment stopped (or the daemon): tell the client the totals if its socket has
  // room, then close — the client reads EOF either way.
  if (!m_ended && m_fd) (void)send_statistics();
  m_poll.close();
}

Result<void> CaptureSession::start_polling(uv_loop_t* loop) {
  if (const int rc = uv_poll_init(loop, m_poll.get(), m_fd.get()); rc != 0) {
    return Error{-rc, std::string("uv_poll_init: ") + uv_strerror(rc)};
  }
  m_poll->data = this;
  const int rc =
      uv_poll_start(m_poll.get(), UV_READABLE | UV_DISCONNECT, [](uv_poll_t* handle, int status, int events) {
        if (auto* self = uv::owner_of<CaptureSession>(handle)) self->on_poll(status, events);
      });
  if (rc != 0) return Error{-rc, std::string("uv_poll_start: ") + uv_strerror(rc)};
  return {};
}

void CaptureSession::on_poll(int status, int events) {
  handle_poll(status, events);
  if (m_ended && m_on_ended) m_on_ended();  // may destroy this: the last thing done here
}

void CaptureSession::handle_poll(int status, int events) {
  if (status < 0) return end();
  if (m_finishing) {
    // Waiting for room for the ISB.
    if ((events & UV_WRITABLE) != 0 && send_statistics()) end();
    return;
  }
  if ((events & UV_READABLE) != 0) {
    // The client sends nothing; a read is its EOF (shutdown or close) or an error.
    std::byte ignored[16];
    ssize_t n = 0;
    do {
      n = ::recv(m_fd.get(), ignored, sizeof ignored, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) return;
    if (n < 0) return end();
    flush();
    if (m_ended) return;
    m_finishing = true;
    if (send_statistics()) return end();
    // Not UV_DISCONNECT: the client's shutdown keeps it raised, and it would spin.
    uv_poll_start(m_poll.get(), UV_WRITABLE, [](uv_poll_t* handle, int st, int ev) {
      if (auto* self = uv::owner_of<CaptureSession>(handle)) self->on_poll(st, ev);
    });
    return;
  }
  if ((events & UV_DISCONNECT) != 0) end();
}

void CaptureSession::end() {
  if (m_ended) return;
  m_ended = true;
  m_poll.close();
  m_fd.reset();
  spdlog::debug("capture ended: {} frames, {} delivered, {} lost", m_received, m_delivered, m_lost);
}

bool CaptureSession::send_statistics() {
  proto::pcapng::InterfaceStatistics statistics{now_us(), m_received, m_lost, m_delivered};
  std::array<std::byte, proto::pcapng::k_interface_statistics_size> block{};
  const std::size_t size = proto::pcapng::encode(block, statistics);
  ssize_t n = 0;
  do {
    n = ::send(m_fd.get(), block.data(), size, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS));
}

void CaptureSession::add(std::span<const std::byte> frame, proto::pcapng::Direction direction,
                         std::optional<core::DropReason> dropped, std::uint64_t timestamp_us) {
  if (m_ended || m_finishing) return;
  const bool inbound = direction == proto::pcapng::Direction::inbound;
  if (!(inbound ? m_filter.to_vm : m_filter.from_vm)) return;
  if (dropped && !m_filter.dropped) return;
  if (m_pending == core::k_batch_size) flush();  // never within one batch: a batch has at most 32 frames
  ++m_received;
  proto::pcapng::EnhancedPacket packet;
  packet.timestamp_us = timestamp_us;
  packet.captured = frame.first(std::min<std::size_t>(frame.size(), m_filter.snaplen));
  packet.original_length = static_cast<std::uint32_t>(frame.size());
  packet.direction = direction;
  if (m_pending == 0) {
    packet.dropcount = m_unreported_lost;
    m_pending_dropcount = m_unreported_lost;
  }
  if (dropped) packet.comment = m_comments[static_cast<std::size_t>(*dropped)];
  const std::span<std::byte> slot(m_buffer.data() + m_pending * m_slot_size, m_slot_size);
  const std::size_t size = proto::pcapng::encode(slot, packet);
  if (size == 0) {  // cannot happen: slots fit max_frame (kept as a counted loss, never a crash)
    ++m_lost;
    ++m_unreported_lost;
    return;
  }
  m_iovs[m_pending] = iovec{slot.data(), size};
  ++m_pending;
}

void CaptureSession::flush() {
  const std::size_t pending = std::exchange(m_pending, 0);
  if (pending == 0 || m_ended) return;
  std::size_t sent = 0;
  int err = 0;
  while (sent < pending) {
    const int n = platform::send_messages(m_fd.get(), std::span(m_messages.data() + sent, pending - sent));
    if (n < 0) {
      err = errno;
      if (err == EINTR) continue;
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  m_delivered += sent;
  // The first record carried the losses before it: once it went, they are reported.
  if (sent > 0) m_unreported_lost -= m_pending_dropcount;
  const std::size_t lost = pending - sent;
  m_lost += lost;
  m_unreported_lost += lost;
  if (lost > 0 && client_gone(err)) end();
}

}  // namespace squib::relay
