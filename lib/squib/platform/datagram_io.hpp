#pragma once

// Batched datagram I/O on one non-blocking AF_UNIX SOCK_DGRAM socket: up to k_batch_size
// datagrams per call. Buffers, iovecs and message headers are preallocated here, once. The
// syscalls are the platform's (receive_messages/send_messages below, picked by CMake):
// platform/linux/batch_syscalls.cpp uses recvmmsg(2)/sendmmsg(2) — one syscall per batch;
// platform/posix/batch_syscalls.cpp (macOS has neither; Linux builds with SQUIB_PORTABLE_IO)
// loops over recvmsg/sendmsg with the same contract.
//
// Neither class counts anything: the caller decides what a result means (VmPort counts
// frames to the VM, DatagramChannel frames to a backend).

#include <sys/socket.h>
#include <sys/un.h>

#include <array>
#include <cstddef>
#include <span>

#include <squib/core/frame_batch.hpp>
#include <squib/core/frame_pool.hpp>

namespace squib::platform {

// One message of a batch. Laid out as Linux's struct mmsghdr, which the Linux syscalls take
// (static_assert there).
struct BatchMessage {
  msghdr msg_hdr;
  unsigned int msg_len;  // bytes received
};

// Receives into messages[0..n): n, 0 when nothing is waiting, or -errno (EINTR retried).
int receive_messages(int fd, std::span<BatchMessage> messages);
// Sends messages from the front: how many the kernel took (≥ 1), or -1 with errno set.
int send_messages(int fd, std::span<BatchMessage> messages);

class DatagramReader {
public:
  // Each slot holds one datagram of up to max_datagram bytes; longer ones are truncated and
  // flagged (MSG_TRUNC), never overflow.
  explicit DatagramReader(std::size_t max_datagram);

  struct Datagram {
    std::span<const std::byte> bytes;
    bool truncated = false;
    const sockaddr_un* from = nullptr;  // null when unnamed or not asked for
    socklen_t from_length = 0;
  };

  // Reads up to k_batch_size datagrams; returns how many, 0 when none are waiting, or
  // -errno on a real error (EAGAIN is 0, EINTR is retried).
  int receive(int fd);
  [[nodiscard]] const Datagram& at(std::size_t index) const { return m_datagrams[index]; }

private:
  core::FramePool m_pool;
  std::array<Datagram, core::k_batch_size> m_datagrams{};
  std::array<sockaddr_un, core::k_batch_size> m_addresses{};
  std::array<iovec, core::k_batch_size> m_iovs{};
  std::array<BatchMessage, core::k_batch_size> m_messages{};
};

class DatagramWriter {
public:
  DatagramWriter();

  struct Outcome {
    std::size_t sent = 0;        // frames accepted by the kernel, from the front of the batch
    std::size_t sent_bytes = 0;
    int error = 0;               // errno that stopped the batch early, 0 if all were sent
  };

  // Sends frames [first, batch.count) to `to` (null: the socket is connected). Stops at the
  // first error; the caller decides whether to skip that frame and call again.
  Outcome send(int fd, const core::FrameBatch& batch, std::size_t first, const sockaddr_un* to, socklen_t to_length);

private:
  std::array<iovec, core::k_batch_size> m_iovs{};
  std::array<BatchMessage, core::k_batch_size> m_messages{};
};

}  // namespace squib::platform
