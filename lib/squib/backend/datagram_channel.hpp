#pragma once

// DatagramChannel: frames over a connected SOCK_DGRAM socket, one frame per datagram — the
// vfkit framing of gvproxy's `-listen-vfkit unixgram://` and of custom children that ask
// for it. Batches both ways (platform::DatagramReader/Writer). EAGAIN/ENOBUFS on send drops
// the rest of the batch (backend_full); ECONNREFUSED (the peer is gone) calls on_broken so
// the owner restarts the child.

#include <functional>
#include <string>

#include <squib/backend/channel.hpp>
#include <squib/core/fd.hpp>
#include <squib/core/frame_batch.hpp>
#include <squib/core/frame_sink.hpp>
#include <squib/core/result.hpp>
#include <squib/core/stats.hpp>
#include <squib/platform/datagram_io.hpp>
#include <squib/uv/handle.hpp>

namespace squib::backend {

class DatagramChannel final : public Channel {
public:
  DatagramChannel(uv_loop_t* loop, core::Fd fd, std::size_t max_frame, core::FrameSink& to_vm,
                  core::AttachmentStats& stats, std::function<void(const std::string& why)> on_broken);
  ~DatagramChannel() override;

  core::Result<void> start() override;
  void send(const core::FrameBatch& batch) override;

private:
  void on_readable();
  void broken(const std::string& why);

  uv_loop_t* m_loop;
  core::Fd m_fd;
  core::FrameSink& m_to_vm;
  core::AttachmentStats& m_stats;
  std::function<void(const std::string&)> m_on_broken;
  uv::Handle<uv_poll_t> m_poll;
  platform::DatagramReader m_reader;
  platform::DatagramWriter m_writer;
  bool m_broken = false;
};

}  // namespace squib::backend
