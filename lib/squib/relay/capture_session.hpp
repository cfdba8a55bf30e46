#pragma once

// CaptureSession: one `capture` client of one attachment (squib-netctl capture, proto/
// control-protocol.md "capture"). The daemon holds the non-blocking end of an AF_UNIX
// SOCK_SEQPACKET socketpair; the client holds the other. Every datagram is one pcapng record
// (proto/pcapng.hpp): an Enhanced Packet Block per captured frame, an Interface Statistics
// Block at the end. SEQPACKET rather than DGRAM because it keeps datagram boundaries (one
// record = one datagram, never torn) and, unlike a DGRAM pair, reports the client's
// shutdown and close to the daemon (EOF, EPIPE) and the daemon's close to the client (EOF).
//
// Theory of operation:
// - add() of a frame the filter takes (direction, guard-dropped or not) encodes its EPB at
//   once into the next of k_batch_size preallocated slots (whole frame or `snaplen` bytes,
//   whichever is shorter); flush() sends the slots with one sendmmsg(), non-blocking. The
//   owner (relay/captures.hpp) calls add() for each frame of a batch, then flush(): one
//   syscall per batch per session, no allocation per frame (buffers and comments are made
//   in open()).
// - EAGAIN/ENOBUFS: the client is not keeping up. The rest of the batch is lost — counted,
//   never retried or queued: VM traffic is never delayed by a capture. The count goes into
//   the next EPB that reaches the client (epb_dropcount) and into the final ISB.
// - The client ends a capture by shutdown(SHUT_WR) (its end reads EOF here): the session
//   sends its ISB (received/lost/delivered), waiting for POLLOUT if the socket is full, and
//   then ends. A client that closes its end (or exits) ends the session at once (EOF with
//   nothing to send to, or EPIPE/ECONNRESET on a send). `ended()` then tells the owner to
//   free the session: its buffer goes with it.
// - When the attachment stops, the session is destroyed: it tries (non-blocking) to send its
//   ISB, then closes, which the client reads as EOF.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <uv.h>

#include <squib/core/fd.hpp>
#include <squib/core/frame_batch.hpp>
#include <squib/core/result.hpp>
#include <squib/core/stats.hpp>
#include <squib/platform/datagram_io.hpp>
#include <squib/proto/pcapng.hpp>
#include <squib/uv/handle.hpp>

namespace squib::relay {

struct CaptureFilter {
  bool to_vm = true;     // frames the network hands to the VM (pcapng inbound)
  bool from_vm = true;   // frames the VM sends (pcapng outbound)
  bool dropped = false;  // also frames the anti-spoofing guard dropped (outbound, with a comment)
  std::uint32_t snaplen = 262144;
};

class CaptureSession {
 public:
  // Takes the daemon's end (non-blocking) of the socketpair and polls it for the client's
  // EOF. `max_frame` bounds the slot size with `snaplen` (no frame here is longer).
  // `ended` runs from a libuv callback when the session is over; the owner then frees it
  // (from that callback if it likes: nothing of the session is touched after).
  static core::Result<std::unique_ptr<CaptureSession>> open(uv_loop_t* loop, core::Fd daemon_end,
                                                            const CaptureFilter& filter, std::size_t max_frame,
                                                            std::function<void()> ended);
  ~CaptureSession();
  CaptureSession(const CaptureSession&) = delete;
  CaptureSession& operator=(const CaptureSession&) = delete;

  // One frame of a batch; `dropped`: the guard's reason when it dropped the frame.
  void add(std::span<const std::byte> frame, proto::pcapng::Direction direction,
           std::optional<core::DropReason> dropped, std::uint64_t timestamp_us);
  // Sends what add() encoded since the last flush.
  void flush();
  // Over: the client went away or was sent its ISB. The owner frees it.
  [[nodiscard]] bool ended() const { return m_ended; }

  [[nodiscard]] std::uint64_t received() const { return m_received; }
  [[nodiscard]] std::uint64_t lost() const { return m_lost; }
  [[nodiscard]] std::uint64_t delivered() const { return m_delivered; }

 private:
  CaptureSession(core::Fd fd, const CaptureFilter& filter, std::size_t slot_size, std::function<void()> ended);
  core::Result<void> start_polling(uv_loop_t* loop);
  void on_poll(int status, int events);
  void handle_poll(int status, int events);
  // Sends the ISB; true when it went (or the client is gone), false on EAGAIN.
  bool send_statistics();
  // Closes the socket and marks the session ended; the owner is told from on_poll only
  // (flush() runs inside the owner's loop over its sessions, which frees ended ones after).
  void end();

  core::Fd m_fd;
  CaptureFilter m_filter;
  std::size_t m_slot_size;
  std::function<void()> m_on_ended;
  uv::Handle<uv_poll_t> m_poll;

  std::vector<std::byte> m_buffer;  // k_batch_size slots of m_slot_size bytes
  std::array<iovec, core::k_batch_size> m_iovs{};
  std::array<platform::BatchMessage, core::k_batch_size> m_messages{};
  std::array<std::string, core::k_drop_reason_count> m_comments;  // "dropped by squib-netd: <reason>"
  std::size_t m_pending = 0;                                      // slots filled since the last flush
  std::uint64_t m_pending_dropcount = 0;                          // carried by the first pending record

  std::uint64_t m_received = 0;         // frames the filter took
  std::uint64_t m_lost = 0;             // of those, not sent (the client's socket was full)
  std::uint64_t m_delivered = 0;        // of those, sent
  std::uint64_t m_unreported_lost = 0;  // lost since the last record the client got
  bool m_finishing = false;             // the client shut down its end: ISB, then end
  bool m_ended = false;
};

}  // namespace squib::relay
