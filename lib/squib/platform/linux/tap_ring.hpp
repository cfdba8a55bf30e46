#pragma once

// TapRing: a TAP's frames moved in batches through one io_uring (issue 17, "TAP batches").
// A TAP takes exactly one frame per read()/write() and has no recvmmsg/sendmmsg, so the plain
// path costs one syscall per frame; a ring submits a whole FrameBatch (up to k_batch_size
// IORING_OP_READ or IORING_OP_WRITE entries) with one io_uring_enter.
//
// Theory of operation:
// - open(entries): io_uring_queue_init. Any failure (ENOSYS on an old kernel, EPERM under
//   sysctl kernel.io_uring_disabled or a seccomp profile that denies io_uring_setup, as
//   Docker's default does, ENOMEM) is an Error: the caller keeps its read()/write() loops.
// - Every entry carries RWF_NOWAIT. Without it, a read on an empty non-blocking TAP does not
//   complete with -EAGAIN: io_uring arms an internal poll and parks the read until a frame
//   arrives (measured here on Linux 6.18: two reads on an empty TAP, io_uring_submit returned
//   with 0 completions), and a parked read would later write into a pool slot the relay
//   reuses. With RWF_NOWAIT (REQ_F_NOWAIT in io_uring/rw.c) a read or write that would block
//   completes inline with -EAGAIN, exactly as read()/write() on the O_NONBLOCK fd do.
// - Because every entry completes inline, io_uring_submit_and_wait(n) returns with all n
//   completions posted and never sleeps; the loop is never blocked. Completions are matched
//   to slots by user_data (the slot index), never by arrival order.
// - read_batch: one read per pool slot, in at most two enters: first as many reads as the
//   last batch suggests (2 × the frames it found + 2, at least 1), then, only if every one
//   found a frame, the rest of the k_batch_size slots. A saturated TAP thus costs one enter
//   per 32 frames, a quiet one a couple of empty reads per wakeup instead of 31. A read that
//   finds the queue empty completes with -EAGAIN; a frame may still arrive before a later
//   read of the same batch, so every slot's result is reported (the caller keeps the frames
//   of all slots, in slot order, which is the order the kernel dequeued them: entries
//   without IOSQE_ASYNC are issued in submission order); unsubmitted slots are -EAGAIN.
// - write_batch: one write per frame; results per frame as write() would return them.
// - No allocation per batch: the SQ/CQ rings are mmapped once at open, the buffers are the
//   caller's pool and batch.
// Why liburing rather than raw io_uring_setup/io_uring_enter syscalls: the SQ/CQ ring
// protocol (head/tail memory barriers, the SQ index array, CQ overflow) is the subtle part
// and liburing is its reference implementation, packaged in Debian (liburing-dev 2.3).

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <memory>
#include <string_view>

#include <squib/core/frame_batch.hpp>
#include <squib/core/frame_pool.hpp>
#include <squib/core/result.hpp>

struct io_uring;

namespace squib::platform {

// Per-entry results of one batch: a byte count, or -errno (-EAGAIN: nothing to read / queue
// full). Entries past the batch's size are unspecified.
using RingResults = std::array<ssize_t, core::k_batch_size>;

// How TAP frames move: `syscalls` (one read()/write() per frame) or `uring` (a TapRing per
// TAP, falling back to syscalls when it cannot open). Chosen by the environment variable
// SQUIB_TAP_IO=syscalls|uring of the daemon (for measuring both ways, docs/performance.md
// "TAP batches: io_uring, measured"); unset or unknown: k_default_tap_io.
enum class TapIo { syscalls, uring };
TapIo tap_io_wanted();
std::string_view to_string(TapIo io);

class TapRing {
 public:
  // A ring of `entries` submission entries (at least k_batch_size).
  static core::Result<std::unique_ptr<TapRing>> open(unsigned entries = 2 * core::k_batch_size);
  ~TapRing();
  TapRing(const TapRing&) = delete;
  TapRing& operator=(const TapRing&) = delete;

  // One read per slot of `pool` (at most k_batch_size slots) on the non-blocking `fd`, in one
  // io_uring_enter or two (Theory of operation); results[i] is slot i's, -EAGAIN for a slot
  // not submitted. Returns the number of slots, 0 when the ring itself failed
  // (io_uring_enter's error in results[0]).
  std::size_t read_batch(int fd, core::FramePool& pool, RingResults& results);
  // One write per frame of `batch` to `fd`, one io_uring_enter; results[i] is frame i's.
  // Returns batch.count, or 0 when the ring itself failed (its error in results[0]).
  std::size_t write_batch(int fd, const core::FrameBatch& batch, RingResults& results);

 private:
  explicit TapRing(std::unique_ptr<io_uring> ring);
  std::size_t submit_reads(int fd, core::FramePool& pool, std::size_t begin, std::size_t end, RingResults& results);
  std::size_t submit_and_reap(std::size_t count, RingResults& results);

  std::unique_ptr<io_uring> m_ring;
  std::size_t m_read_hint = core::k_batch_size;  // reads of the next batch's first enter
};

}  // namespace squib::platform
