// stream-echo: the cheapest possible userspace child for scripts/bench — "the network answers
// instantly". QEMU stream framing echoed unchanged is the same byte stream, so it read()s
// whatever arrived (up to 256 KiB) and write()s it back, never looking at frame boundaries.
// squib-netd runs it as a `custom` child (args: {fd}); naive-relay runs it the same way. With
// it, the child costs ~2 syscalls per burst instead of echo-peer's 4 per frame, so the relay
// under test, not the child, bounds the round trip.

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: stream-echo FD\n");
    return 2;
  }
  const int fd = std::atoi(argv[1]);
  std::vector<char> buffer(256 * 1024);
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    const char* p = buffer.data();
    auto left = static_cast<std::size_t>(n);
    while (left > 0) {
      const ssize_t w = ::write(fd, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return 1;
      p += w;
      left -= static_cast<std::size_t>(w);
    }
  }
}
