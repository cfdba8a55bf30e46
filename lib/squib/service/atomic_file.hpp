#pragma once

// replace_file: writes a whole file so that a reader sees the old content or the new, never
// a part — `<path>.tmp` in the same directory (rename(2) is atomic only within one file
// system), then rename over `path`. Symlinks are never followed: the temporary is opened
// O_CREAT|O_EXCL|O_NOFOLLOW (a leftover or planted one is unlinked first, which removes a
// symlink itself, not its target), and rename replaces a symlink at `path` instead of
// writing through it. Used by state.json and the metrics textfile.

#include <sys/types.h>

#include <string>
#include <string_view>

#include <squib/core/result.hpp>

namespace squib::service {

// `durable`: fsync the file before the rename and the directory after it, so that the new
// content survives a power loss (state.json). Without it nothing waits for the disk — for
// a file rewritten every few seconds from live counters (metrics), where an fsync on the
// loop thread would stall every VM's traffic for a disk flush.
core::Result<void> replace_file(const std::string& path, std::string_view text, mode_t mode, bool durable);

// The directory part of `path` ("." without a slash).
std::string directory_of(const std::string& path);

}  // namespace squib::service
