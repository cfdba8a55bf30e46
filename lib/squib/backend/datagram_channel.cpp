#include <squib/backend/datagram_channel.hpp>

#include <cstring>

#include <squib/core/frame_view.hpp>

namespace squib::backend {

using core::DropReason;

DatagramChannel::DatagramChannel(uv_loop_t* loop, core::Fd fd, std::size_t max_frame, core::FrameSink& to_vm,
                                 core::AttachmentStats& stats, std::function<void(const std::string&)> on_broken)
    : m_loop(loop),
      m_fd(std::move(fd)),
      m_to_vm(to_vm),
      m_stats(stats),
      m_on_broken(std::move(on_broken)),
      m_reader(max_frame) {}

DatagramChannel::~DatagramChannel() { m_poll.close(); }

core::Result<void> DatagramChannel::start() {
  if (const int rc = uv_poll_init(m_loop, m_poll.get(), m_fd.get()); rc != 0) {
    return core::Error{-rc, std::string("uv_poll_init: ") + uv_strerror(rc)};
  }
  m_poll->data = this;
  const int rc = uv_poll_start(m_poll.get(), UV_READABLE, [](uv_poll_t* handle, int status, int) {
    auto* self = uv::owner_of<DatagramChannel>(handle);
    if (self == nullptr) return;
    if (status < 0) {
      self->broken(std::string("poll: ") + uv_strerror(status));
    } else {
      self->on_readable();
    }
  });
  if (rc != 0) return core::Error{-rc, std::string("uv_poll_start: ") + uv_strerror(rc)};
  return {};
}

void DatagramChannel::broken(const std::string& why) {
  if (m_broken) return;
  m_broken = true;
  uv_poll_stop(m_poll.get());
  if (m_on_broken) m_on_broken(why);  // may destroy this channel: touch nothing after
}

void DatagramChannel::on_readable() {
  const int received = m_reader.receive(m_fd.get());
  if (received < 0) {
    if (-received == ECONNREFUSED) {
      broken("peer is gone");
    } else {
      ++m_stats.errors;
    }
    return;
  }
  core::FrameBatch batch;
  for (std::size_t i = 0; i < static_cast<std::size_t>(received); ++i) {
    const auto& datagram = m_reader.at(i);
    if (datagram.truncated) {
      m_stats.drop(DropReason::oversize);
    } else if (datagram.bytes.size() < core::k_ethernet_header_size) {
      m_stats.drop(DropReason::runt);
    } else {
      batch.push(datagram.bytes);
    }
  }
  if (!batch.empty()) m_to_vm.consume(batch);
}

void DatagramChannel::send(const core::FrameBatch& batch) {
  if (m_broken) {
    m_stats.drop(DropReason::backend_down, batch.count);
    return;
  }
  const auto outcome = m_writer.send(m_fd.get(), batch, 0, nullptr, 0);
  m_stats.from_vm.add_batch(outcome.sent, outcome.sent_bytes);
  if (outcome.error == 0) return;
  const std::size_t rest = batch.count - outcome.sent;
  if (outcome.error == EAGAIN || outcome.error == EWOULDBLOCK || outcome.error == ENOBUFS) {
    m_stats.drop(DropReason::backend_full, rest);
  } else {
    m_stats.drop(DropReason::backend_down, rest);
    broken(std::string("send: ") + std::strerror(outcome.error));
  }
}

}  // namespace squib::backend
