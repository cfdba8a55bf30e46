#include <squib/platform/linux/tap_ring.hpp>

#include <liburing.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string_view>

#include <spdlog/spdlog.h>

#include <squib/core/assert.hpp>

namespace squib::platform {

namespace {

// IORING_SETUP_SUBMIT_ALL (5.18): an entry that fails at submission does not stop the rest of
// the batch. IORING_SETUP_COOP_TASKRUN (5.19): no IPI to interrupt the loop thread for task
// work it will run at its next io_uring_enter anyway. Older kernels reject unknown flags with
// EINVAL: open() then retries without them.
constexpr unsigned k_setup_flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN;

// The default, decided by measurement: docs/performance.md "TAP batches: io_uring, measured".
constexpr TapIo k_default_tap_io = TapIo::uring;

TapIo read_tap_io() {
  const char* env = std::getenv("SQUIB_TAP_IO");
  TapIo io = k_default_tap_io;
  if (env != nullptr && std::string_view(env) == "syscalls") {
    io = TapIo::syscalls;
  } else if (env != nullptr && std::string_view(env) == "uring") {
    io = TapIo::uring;
  } else if (env != nullptr && *env != '\0') {
    spdlog::warn("SQUIB_TAP_IO={}: unknown (syscalls|uring), using {}", env, to_string(io));
  }
  spdlog::info("TAP I/O: {}{}", to_string(io), env != nullptr ? " (SQUIB_TAP_IO)" : " (default)");
  return io;
}

}  // namespace

TapIo tap_io_wanted() {
  static const TapIo io = read_tap_io();  // read and logged once per process
  return io;
}

std::string_view to_string(TapIo io) { return io == TapIo::uring ? "uring" : "syscalls"; }

core::Result<std::unique_ptr<TapRing>> TapRing::open(unsigned entries) {
  SQUIB_ASSERT(entries >= core::k_batch_size);
  auto ring = std::make_unique<io_uring>();
  int rc = io_uring_queue_init(entries, ring.get(), k_setup_flags);
  if (rc == -EINVAL) rc = io_uring_queue_init(entries, ring.get(), 0);
  if (rc < 0) return core::Error::from_errno("io_uring_queue_init", -rc);
  return std::unique_ptr<TapRing>(new TapRing(std::move(ring)));
}

TapRing::TapRing(std::unique_ptr<io_uring> ring) : m_ring(std::move(ring)) {}

TapRing::~TapRing() { io_uring_queue_exit(m_ring.get()); }

std::size_t TapRing::read_batch(int fd, core::FramePool& pool, RingResults& results) {
  const std::size_t count = std::min(pool.slot_count(), core::k_batch_size);
  // First the reads the last batch suggests, then — only if every one found a frame — the
  // rest of the batch in a second enter (header: "read_batch").
  const std::size_t first = std::clamp(m_read_hint, std::size_t{1}, count);
  if (submit_reads(fd, pool, 0, first, results) == 0) return 0;
  std::size_t filled = 0;
  for (std::size_t i = 0; i < first; ++i) filled += results[i] >= 0 ? 1U : 0U;
  if (filled == first && first < count) {
    if (submit_reads(fd, pool, first, count, results) == 0) return 0;
    for (std::size_t i = first; i < count; ++i) filled += results[i] >= 0 ? 1U : 0U;
  } else {
    for (std::size_t i = first; i < count; ++i) results[i] = -EAGAIN;
  }
  m_read_hint = std::min(count, 2 * filled + 2);
  return count;
}

std::size_t TapRing::submit_reads(int fd, core::FramePool& pool, std::size_t begin, std::size_t end,
                                  RingResults& results) {
  for (std::size_t i = begin; i < end; ++i) {
    io_uring_sqe* sqe = io_uring_get_sqe(m_ring.get());
    SQUIB_ASSERT(sqe != nullptr);  // entries >= k_batch_size and every batch is reaped
    const auto slot = pool.slot(i);
    io_uring_prep_read(sqe, fd, slot.data(), static_cast<unsigned>(slot.size()), 0);
    sqe->rw_flags = RWF_NOWAIT;  // -EAGAIN instead of a parked read (header)
    io_uring_sqe_set_data64(sqe, i);
  }
  return submit_and_reap(end - begin, results);
}

std::size_t TapRing::write_batch(int fd, const core::FrameBatch& batch, RingResults& results) {
  for (std::size_t i = 0; i < batch.count; ++i) {
    io_uring_sqe* sqe = io_uring_get_sqe(m_ring.get());
    SQUIB_ASSERT(sqe != nullptr);
    const auto frame = batch.frames[i];
    io_uring_prep_write(sqe, fd, frame.data(), static_cast<unsigned>(frame.size()), 0);
    sqe->rw_flags = RWF_NOWAIT;
    io_uring_sqe_set_data64(sqe, i);
  }
  return submit_and_reap(batch.count, results);
}

std::size_t TapRing::submit_and_reap(std::size_t count, RingResults& results) {
  if (count == 0) return 0;
  int rc = 0;
  do {
    rc = io_uring_submit_and_wait(m_ring.get(), static_cast<unsigned>(count));
  } while (rc == -EINTR);
  if (rc < 0 || static_cast<std::size_t>(rc) != count) {
    // A short submission (the kernel could not take every entry; it then does not wait
    // either): the caller drops the ring, whose exit discards what is left in it.
    results[0] = rc < 0 ? rc : -EBUSY;
    return 0;
  }
  // Every entry completes inline (RWF_NOWAIT), so all `count` completions are posted; the
  // bounded wait below only guards that contract (it never runs in practice): the loop
  // thread is never parked on the ring for long, whatever the kernel does.
  std::size_t reaped = 0;
  while (reaped < count) {
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_for_each_cqe(m_ring.get(), head, cqe) {
      const auto index = io_uring_cqe_get_data64(cqe);
      if (index < core::k_batch_size) results[index] = cqe->res;
      ++seen;
    }
    io_uring_cq_advance(m_ring.get(), seen);
    reaped += seen;
    if (reaped < count) {
      __kernel_timespec timeout{0, 10'000'000};  // 10 ms
      rc = io_uring_wait_cqe_timeout(m_ring.get(), &cqe, &timeout);
      if (rc < 0 && rc != -EINTR) {
        results[0] = rc;
        return 0;
      }
    }
  }
  return count;
}

}  // namespace squib::platform
