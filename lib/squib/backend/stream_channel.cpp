#include <squib/backend/stream_channel.hpp>

#include <squib/core/frame_view.hpp>
#include <squib/uv/check.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace squib::backend {

using core::DropReason;

StreamChannel::StreamChannel(uv_loop_t* loop, core::Fd fd, std::size_t max_frame, core::FrameSink& to_vm,
                             core::AttachmentStats& stats, std::function<void(const std::string&)> on_broken)
    : m_loop(loop),
      m_fd(std::move(fd)),
      m_max_frame(max_frame),
      m_to_vm(to_vm),
      m_stats(stats),
      m_on_broken(std::move(on_broken)),
      m_deframer(core::k_batch_size * (max_frame + core::k_stream_length_prefix), max_frame),
      m_pending(std::make_unique<std::byte[]>(max_frame + core::k_stream_length_prefix)) {}

StreamChannel::~StreamChannel() { m_poll.close(); }

core::Result<void> StreamChannel::start() {
  if (const int rc = uv_poll_init(m_loop, m_poll.get(), m_fd.get()); rc != 0) {
    return core::Error{-rc, std::string("uv_poll_init: ") + uv_strerror(rc)};
  }
  m_poll->data = this;
  update_poll();
  return {};
}

void StreamChannel::update_poll() {
  if (m_broken) return;
  const int events = UV_READABLE | (m_pending_size > m_pending_offset ? UV_WRITABLE : 0);
  const int polling = uv_poll_start(m_poll.get(), events, [](uv_poll_t* handle, int status, int ready) {
    if (auto* self = uv::owner_of<StreamChannel>(handle)) self->on_poll(status, ready);
  });
  uv::ok(polling, "uv_poll_start");
}

void StreamChannel::broken(const std::string& why) {
  if (m_broken) return;
  m_broken = true;
  uv_poll_stop(m_poll.get());
  // The owner may destroy this channel from the callback: touch nothing afterwards.
  if (m_on_broken) m_on_broken(why);
}

void StreamChannel::on_poll(int status, int events) {
  if (status < 0) {
    broken(std::string("poll: ") + uv_strerror(status));
    return;
  }
  if ((events & UV_WRITABLE) != 0) {
    flush_pending();
    if (m_broken) return;
  }
  if ((events & UV_READABLE) != 0) on_readable();
}

void StreamChannel::on_readable() {
  const auto space = m_deframer.writable();
  ssize_t n = 0;
  do {
    n = ::read(m_fd.get(), space.data(), space.size());
  } while (n < 0 && errno == EINTR);
  if (n == 0) {
    broken("peer closed the stream");
    return;
  }
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) broken(std::string("read: ") + std::strerror(errno));
    return;
  }
  m_deframer.commit(static_cast<std::size_t>(n));

  core::FrameBatch batch;
  for (;;) {
    const auto next = m_deframer.next();
    if (next.status == core::StreamDeframer::Status::need_more) break;
    if (next.status == core::StreamDeframer::Status::bad_length) {
      ++m_stats.errors;
      broken("bad frame length " + std::to_string(next.length) + " in stream (max " + std::to_string(m_max_frame) + ")");
      return;
    }
    if (next.frame.size() < core::k_ethernet_header_size) {
      m_stats.drop(DropReason::runt);
      continue;
    }
    batch.push(next.frame);
    if (batch.full()) {
      m_to_vm.consume(batch);
      batch.clear();
    }
  }
  if (!batch.empty()) m_to_vm.consume(batch);
  m_deframer.compact();
}

void StreamChannel::flush_pending() {
  while (m_pending_offset < m_pending_size) {
    const ssize_t n = ::send(m_fd.get(), m_pending.get() + m_pending_offset, m_pending_size - m_pending_offset,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      broken(std::string("write: ") + std::strerror(errno));
      return;
    }
    m_pending_offset += static_cast<std::size_t>(n);
  }
  if (m_pending_offset == m_pending_size) {
    m_pending_size = 0;
    m_pending_offset = 0;
  }
  update_poll();
}

void StreamChannel::send(const core::FrameBatch& batch) {
  if (m_broken) {
    m_stats.drop(DropReason::backend_down, batch.count);
    return;
  }
  if (m_pending_size > 0) flush_pending();
  if (m_broken || m_pending_size > 0) {
    m_stats.drop(DropReason::backend_full, batch.count);
    return;
  }
  std::size_t total = 0;
  for (std::size_t i = 0; i < batch.count; ++i) {
    const auto frame = batch.frames[i];
    core::encode_stream_prefix(static_cast<std::uint32_t>(frame.size()), m_prefixes[i]);
    m_iovs[2 * i] = iovec{m_prefixes[i].data(), m_prefixes[i].size()};
    m_iovs[2 * i + 1] = iovec{const_cast<std::byte*>(frame.data()), frame.size()};  // NOLINT: sendmsg only reads
    total += frame.size() + core::k_stream_length_prefix;
  }
  msghdr msg{};
  msg.msg_iov = m_iovs.data();
  msg.msg_iovlen = 2 * batch.count;
  ssize_t n = 0;
  do {
    n = ::sendmsg(m_fd.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      m_stats.drop(DropReason::backend_full, batch.count);
      return;
    }
    m_stats.drop(DropReason::backend_down, batch.count);
    broken(std::string("write: ") + std::strerror(errno));
    return;
  }
  auto written = static_cast<std::size_t>(n);
  if (written == total) {
    m_stats.from_vm.add_batch(batch.count, total - batch.count * core::k_stream_length_prefix);
    return;
  }
  // Partial write: find the frame it stopped in, keep its tail, drop the frames after it.
  std::size_t frames_done = 0;
  std::size_t bytes_done = 0;
  for (std::size_t i = 0; i < batch.count; ++i) {
    const std::size_t record = batch.frames[i].size() + core::k_stream_length_prefix;
    if (written >= record) {
      written -= record;
      ++frames_done;
      bytes_done += batch.frames[i].size();
      continue;
    }
    if (written > 0) {
      // Stopped inside record i: the stream now owes its remaining bytes.
      std::size_t copied = 0;
      if (written < core::k_stream_length_prefix) {
        const std::size_t prefix_left = core::k_stream_length_prefix - written;
        std::memcpy(m_pending.get(), m_prefixes[i].data() + written, prefix_left);
        copied = prefix_left;
        std::memcpy(m_pending.get() + copied, batch.frames[i].data(), batch.frames[i].size());
        copied += batch.frames[i].size();
      } else {
        const std::size_t frame_off = written - core::k_stream_length_prefix;
        copied = batch.frames[i].size() - frame_off;
        std::memcpy(m_pending.get(), batch.frames[i].data() + frame_off, copied);
      }
      m_pending_size = copied;
      m_pending_offset = 0;
      ++frames_done;
      bytes_done += batch.frames[i].size();
      ++i;
    }
    m_stats.drop(DropReason::backend_full, batch.count - i);
    break;
  }
  m_stats.from_vm.add_batch(frames_done, bytes_done);
  update_poll();
}

}  // namespace squib::backend
