// echo-peer: a userspace-network stand-in for integration tests, run by squib-netd as a
// `custom` userspace child. It speaks QEMU stream framing on an inherited fd and:
//   echo-peer FD echo     — sends every frame back unchanged (exact counts are testable)
//   echo-peer FD badlen   — answers the first frame with a length prefix of 0xffffffff
//   echo-peer FD fail     — prints a message and exits 3 at once (a child that cannot run)
// It is a real process on a real socket, not a mock of the daemon's code.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

bool read_exact(int fd, void* data, std::size_t size) {
  auto* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, p, size);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool write_exact(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: echo-peer FD echo|badlen|fail\n");
    return 2;
  }
  const int fd = std::atoi(argv[1]);
  const std::string mode = argv[2];
  if (mode == "fail") {
    std::fprintf(stderr, "echo-peer: failing on purpose\n");
    return 3;
  }
  std::fprintf(stderr, "echo-peer: serving fd %d in mode %s\n", fd, mode.c_str());
  std::vector<unsigned char> frame(70000);
  for (;;) {
    unsigned char prefix[4];
    if (!read_exact(fd, prefix, sizeof prefix)) return 0;
    const std::uint32_t length = (std::uint32_t{prefix[0]} << 24U) | (std::uint32_t{prefix[1]} << 16U) |
                                 (std::uint32_t{prefix[2]} << 8U) | std::uint32_t{prefix[3]};
    if (length > frame.size() || !read_exact(fd, frame.data(), length)) return 1;
    if (mode == "badlen") {
      const unsigned char bad[4] = {0xff, 0xff, 0xff, 0xff};
      write_exact(fd, bad, sizeof bad);
      continue;
    }
    if (!write_exact(fd, prefix, sizeof prefix) || !write_exact(fd, frame.data(), length)) return 1;
  }
}
