#include <squib/service/atomic_file.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <squib/core/fd.hpp>

namespace squib::service {

using core::Error;
using core::Result;

namespace {

Result<void> write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("write");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

Result<void> replace_file(const std::string& path, std::string_view text, mode_t mode, bool durable) {
  const std::string temp = path + ".tmp";
  ::unlink(temp.c_str());  // a leftover from a crash mid-write
  core::Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) return Error::from_errno("open " + temp);
  // open(2)'s mode passes through the umask; the file gets exactly `mode`.
  if (::fchmod(fd.get(), mode) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return Error::from_errno("chmod " + temp, err);
  }
  if (auto written = write_all(fd.get(), text); !written) {
    ::unlink(temp.c_str());
    return Error{written.error().code, "write " + temp + ": " + written.error().message};
  }
  if (durable && ::fsync(fd.get()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return Error::from_errno("fsync " + temp, err);
  }
  fd.reset();
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return Error::from_errno("rename " + temp, err);
  }
  if (durable) {
    core::Fd dir(::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) ::fsync(dir.get());
  }
  return {};
}

}  // namespace squib::service
