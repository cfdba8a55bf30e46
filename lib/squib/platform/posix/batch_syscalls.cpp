// receive_messages/send_messages where there is no recvmmsg/sendmmsg (macOS): one
// recvmsg/sendmsg per datagram, the same contract. SIGPIPE is ignored by the daemon
// (service/daemon.cpp), so a peer gone mid-batch is EPIPE here too.

#include <squib/platform/datagram_io.hpp>

#include <cerrno>

namespace squib::platform {

int receive_messages(int fd, std::span<BatchMessage> messages) {
  int received = 0;
  while (static_cast<std::size_t>(received) < messages.size()) {
    auto& message = messages[static_cast<std::size_t>(received)];
    const ssize_t n = ::recvmsg(fd, &message.msg_hdr, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (received == 0) return -errno;
      break;  // the error shows again on the next call; deliver what came first
    }
    message.msg_len = static_cast<unsigned int>(n);
    ++received;
  }
  return received;
}

int send_messages(int fd, std::span<BatchMessage> messages) {
  int sent = 0;
  while (static_cast<std::size_t>(sent) < messages.size()) {
    if (::sendmsg(fd, &messages[static_cast<std::size_t>(sent)].msg_hdr, MSG_DONTWAIT) < 0) {
      if (errno == EINTR) continue;
      if (sent == 0) return -1;  // errno tells why
      break;                     // as sendmmsg: what was sent counts; the error shows next call
    }
    ++sent;
  }
  return sent;
}

}  // namespace squib::platform
