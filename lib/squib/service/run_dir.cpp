#include <squib/service/run_dir.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace squib::service {

using core::Error;
using core::Result;

Result<void> prepare_run_dir(const std::string& path) {
  if (path.empty() || path[0] != '/') return Error{EINVAL, "run dir must be an absolute path: " + path};
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return Error::from_errno("mkdir " + path);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return Error::from_errno("lstat " + path);
  if (S_ISLNK(st.st_mode)) return Error{ELOOP, path + " is a symlink; refusing to use it as the run dir"};
  if (!S_ISDIR(st.st_mode)) return Error{ENOTDIR, path + " is not a directory"};
  if (st.st_uid != ::geteuid()) return Error{EPERM, path + " is not owned by the daemon's user"};
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) return Error{EPERM, path + " is writable by others; refusing it"};
  return {};
}

Result<core::Fd> lock_run_dir(const std::string& lock_path) {
  core::Fd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) return Error::from_errno("open " + lock_path);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return Error{EBUSY, "another squib-netd holds " + lock_path};
    return Error::from_errno("flock " + lock_path);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) == 0) {
    [[maybe_unused]] const auto n = ::write(fd.get(), pid.data(), pid.size());
  }
  return fd;
}

std::optional<std::string> unsearchable_directory(const std::string& path) {
  std::filesystem::path dir = std::filesystem::absolute(path).lexically_normal();
  for (;;) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & S_IXOTH) == 0) return dir.string();
    if (!dir.has_parent_path() || dir.parent_path() == dir) return std::nullopt;
    dir = dir.parent_path();
  }
}

}  // namespace squib::service
