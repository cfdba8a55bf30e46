#pragma once

// StreamChannel: frames over a connected SOCK_STREAM socket in QEMU stream framing (4-byte
// big-endian length, then the frame): the link to passt (`--fd`) and gvproxy
// (`-listen-qemu`).
//
// Theory of operation:
// - send(): one sendmsg(MSG_DONTWAIT | MSG_NOSIGNAL) per batch of [prefix, frame] iovec pairs,
//   zero-copy (writev would raise SIGPIPE on a closed peer). A stream cannot drop
//   half a frame, so when the kernel takes only part of a frame, the rest of that frame is
//   copied into a preallocated pending buffer (one max frame) and flushed when the socket is
//   writable; frames not started are dropped and counted (backend_full). While the pending
//   tail is non-empty, new batches are dropped: memory stays bounded, the loop never waits.
// - Readable: one read() into the deframer's fixed buffer (sized for one batch of maximal
//   frames), then frames go to the sink in batches of at most 32.
// - A bad length prefix, EOF or a socket error means the peer is unusable: `on_broken` runs
//   (the owner restarts the child); this channel never asserts on peer bytes.

#include <array>
#include <functional>
#include <memory>

#include <sys/uio.h>

#include <squib/backend/channel.hpp>
#include <squib/core/fd.hpp>
#include <squib/core/frame_batch.hpp>
#include <squib/core/frame_sink.hpp>
#include <squib/core/stats.hpp>
#include <squib/core/stream_deframer.hpp>
#include <squib/core/result.hpp>
#include <squib/uv/handle.hpp>

namespace squib::backend {

class StreamChannel final : public Channel {
public:
  StreamChannel(uv_loop_t* loop, core::Fd fd, std::size_t max_frame, core::FrameSink& to_vm,
                core::AttachmentStats& stats, std::function<void(const std::string& why)> on_broken);
  ~StreamChannel() override;

  core::Result<void> start() override;
  void send(const core::FrameBatch& batch) override;

private:
  void on_poll(int status, int events);
  void on_readable();
  void flush_pending();
  void update_poll();
  void broken(const std::string& why);

  uv_loop_t* m_loop;
  core::Fd m_fd;
  std::size_t m_max_frame;
  core::FrameSink& m_to_vm;
  core::AttachmentStats& m_stats;
  std::function<void(const std::string&)> m_on_broken;
  uv::Handle<uv_poll_t> m_poll;
  bool m_broken = false;

  core::StreamDeframer m_deframer;
  std::array<std::array<std::byte, core::k_stream_length_prefix>, core::k_batch_size> m_prefixes{};
  std::array<iovec, 2 * core::k_batch_size> m_iovs{};
  std::unique_ptr<std::byte[]> m_pending;  // the unwritten tail of one frame
  std::size_t m_pending_size = 0;
  std::size_t m_pending_offset = 0;
};

}  // namespace squib::backend
