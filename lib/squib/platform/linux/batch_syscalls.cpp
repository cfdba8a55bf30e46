// receive_messages/send_messages on Linux: recvmmsg(2)/sendmmsg(2), one syscall per batch.

#include <squib/platform/datagram_io.hpp>

#include <cerrno>
#include <cstddef>

namespace squib::platform {

// BatchMessage is passed to the kernel as struct mmsghdr.
static_assert(sizeof(BatchMessage) == sizeof(mmsghdr));
static_assert(offsetof(BatchMessage, msg_hdr) == offsetof(mmsghdr, msg_hdr));
static_assert(offsetof(BatchMessage, msg_len) == offsetof(mmsghdr, msg_len));

namespace {

mmsghdr* as_mmsghdr(std::span<BatchMessage> messages) {
  return reinterpret_cast<mmsghdr*>(messages.data());  // NOLINT: same layout, asserted above
}

}  // namespace

int receive_messages(int fd, std::span<BatchMessage> messages) {
  int received = 0;
  do {
    received = ::recvmmsg(fd, as_mmsghdr(messages), static_cast<unsigned>(messages.size()), MSG_DONTWAIT, nullptr);
  } while (received < 0 && errno == EINTR);
  if (received < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
  return received;
}

int send_messages(int fd, std::span<BatchMessage> messages) {
  // MSG_NOSIGNAL: a peer gone mid-batch is EPIPE, never SIGPIPE.
  return ::sendmmsg(fd, as_mmsghdr(messages), static_cast<unsigned>(messages.size()), MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace squib::platform
