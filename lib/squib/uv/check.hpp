#pragma once

// uv::ok: every libuv return code is looked at. Most calls cannot fail on a live loop with a
// fresh handle (uv_timer_init, uv_timer_start, uv_signal_init); if one does, the loop or the
// handle is broken and all the caller can do is say so, naming what it asked. Callers that
// can do more (drop a connection, fail a start) test the result.

#include <string_view>

#include <spdlog/spdlog.h>
#include <uv.h>

namespace squib::uv {

inline bool ok(int rc, std::string_view what) {
  if (rc == 0) return true;
  spdlog::error("{}: {}", what, uv_strerror(rc));
  return false;
}

}  // namespace squib::uv
