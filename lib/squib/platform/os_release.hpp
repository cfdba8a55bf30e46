#pragma once

// The operating system this daemon runs on, for `status.kernel.os` and the start-up log:
// "Linux 6.1.0-18-amd64" (uname), "macOS 15.2 (Darwin 24.2.0)" (the product version from
// sysctl kern.osproductversion: Darwin's kernel release alone does not say which macOS,
// and vmnet's features follow the macOS version). One implementation per platform
// (posix/os_release.cpp, darwin/os_release.cpp), picked by CMake.

#include <string>

namespace squib::platform {

std::string os_release();

}  // namespace squib::platform
