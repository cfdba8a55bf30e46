#pragma once

// VmPort: the VM's end of the data path — one AF_UNIX SOCK_DGRAM socket bound at
// <run-dir>/<name>.sock, one Ethernet frame per datagram, no header (design brief §2; QEMU
// -netdev dgram, vfkit unixgram://, libkrun unixgram).
// The socket comes from platform::open_vm_socket(): on Linux one a VMM can queue whole
// batches on, not just net.unix.max_dgram_qlen (10) datagrams (platform/vm_socket.hpp).
//
// Theory of operation:
// - Readable: one recvmmsg() of up to 32 datagrams into the port's preallocated slots. Each
//   datagram's source address is the VMM's; the most recent one becomes the peer frames are
//   sent to (a VMM restarted at a new address takes over). A 4-byte "VFKT" datagram is the
//   vfkit handshake: counted, not forwarded. Runts and truncated (oversize) datagrams are
//   dropped and counted. Valid frames go to the sink as one batch.
// - send_to_vm(): one sendmmsg() per batch to the peer, non-blocking. EAGAIN/ENOBUFS (the VM
//   is not reading) drops the rest of the batch and counts vm_full: a stalled VM never slows
//   the loop or other VMs. ECONNREFUSED/ENOENT (the VMM is gone) forgets the peer.
// - The level-triggered poll brings us back while more datagrams wait, so one wakeup reads at
//   most 32 frames and a busy VM cannot starve the rest (libuv src/unix/udp.c does the same).

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <squib/core/fd.hpp>
#include <squib/core/frame_batch.hpp>
#include <squib/core/frame_sink.hpp>
#include <squib/core/result.hpp>
#include <squib/core/stats.hpp>
#include <squib/platform/datagram_io.hpp>
#include <squib/uv/handle.hpp>

namespace squib::relay {

class Captures;

struct VmPortConfig {
  std::string path;           // where to bind; must not exist (stale files removed by caller)
  std::size_t max_frame = 0;  // MTU + Ethernet header + one VLAN tag
  uid_t uid = 0;              // owner of the socket file
  gid_t gid = 0;
  bool group_access = false;           // 0660 instead of 0600
  int buffer_bytes = 4 * 1024 * 1024;  // SO_SNDBUF/SO_RCVBUF (vmnet-helper uses 4 MiB)
};

class VmPort final : public core::FrameSink {
 public:
  // Binds the socket and starts polling. Frames from the VM go to `from_vm`.
  static core::Result<std::unique_ptr<VmPort>> open(uv_loop_t* loop, const VmPortConfig& config,
                                                    core::AttachmentStats& stats, core::FrameSink& from_vm);
  // Adopts an already-created socket (fd passing: one end of a socketpair; the peer is
  // implicit, so sends use no address).
  static core::Result<std::unique_ptr<VmPort>> adopt(uv_loop_t* loop, core::Fd connected, std::size_t max_frame,
                                                     core::AttachmentStats& stats, core::FrameSink& from_vm);
  // Fd passing: a connected AF_UNIX SOCK_DGRAM socketpair (one frame per datagram, as
  // open()'s socket). The daemon's end, non-blocking, becomes the port (adopt()); the VM's end,
  // blocking and close-on-exec, is returned for SCM_RIGHTS.
  struct Pair {
    std::unique_ptr<VmPort> port;
    core::Fd vm_end;
  };
  static core::Result<Pair> open_pair(uv_loop_t* loop, std::size_t max_frame, core::AttachmentStats& stats,
                                      core::FrameSink& from_vm);
  ~VmPort() override;
  VmPort(const VmPort&) = delete;
  VmPort& operator=(const VmPort&) = delete;

  // Frames for the VM (network → VM). Drops are counted, never blocking.
  void consume(const core::FrameBatch& batch) override;

  [[nodiscard]] bool peer_connected() const { return m_peer_len > 0 || m_connected; }
  // Told the VMM's address when it changes (as often as it is logged: at most once a second)
  // and nullopt when the VMM is gone; never per frame. For `subscribe`'s peer events.
  using PeerObserver = std::function<void(std::optional<std::string> peer)>;
  void set_peer_observer(PeerObserver observer) { m_peer_observer = std::move(observer); }
  [[nodiscard]] const std::string& path() const { return m_path; }
  // Where frames to the VM are recorded while a capture runs (the attachment's; null: none).
  void set_captures(Captures* captures) { m_captures = captures; }
  // Stops polling, closes the socket and unlinks its path.
  void close();

 private:
  VmPort(std::size_t max_frame, core::AttachmentStats& stats, core::FrameSink& from_vm);
  core::Result<void> start_polling(uv_loop_t* loop);
  void on_readable();
  // One recvmmsg of up to k_batch_size datagrams, handed on; returns how many were read
  // (0 on error or when nothing was there).
  std::size_t read_batch();
  void learn_peer(const sockaddr_un& addr, socklen_t len);

  std::string m_path;
  core::Fd m_fd;
  bool m_connected = false;
  uv::Handle<uv_poll_t> m_poll;
  core::AttachmentStats& m_stats;
  core::FrameSink& m_from_vm;
  Captures* m_captures = nullptr;

  platform::DatagramReader m_reader;
  platform::DatagramWriter m_writer;

  sockaddr_un m_peer{};
  socklen_t m_peer_len = 0;
  static constexpr std::chrono::seconds k_peer_log_interval{1};
  std::optional<std::chrono::steady_clock::time_point> m_peer_logged_at;
  std::uint64_t m_peer_changes_unlogged = 0;
  PeerObserver m_peer_observer;
};

}  // namespace squib::relay
