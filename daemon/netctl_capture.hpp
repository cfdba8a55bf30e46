#pragma once

// squib-netctl capture: writing a capture stream (proto/capture_messages.hpp) to a pcapng
// file or stdout. squib_netctl.cpp makes the `capture` call; this file takes the passed socket.

#include <cstdint>
#include <optional>
#include <string>

#include <squib/proto/capture_messages.hpp>

namespace squib::netctl {

// Where the records go: `output` "-" is stdout, anything else a file created (or truncated)
// with mode 0600 — captures hold other people's traffic. Opened before the daemon is asked,
// so a bad path is a usage error. -1 and a message on stderr when it cannot be opened.
int open_capture_output(const std::string& output);

// Writes the SHB and IDB, then every record from `socket` as it arrives (one write per
// record: `-w - | tshark -r -` sees each frame at once) until `count` frames are written
// (when given), SIGINT/SIGTERM, the reader of stdout going away, or the daemon ending the
// capture (its attachment stopped). It then shuts its end down, reads the daemon's final
// statistics, and prints "N frames captured, M lost" on stderr. Returns the exit code.
int run_capture(int socket, int output, const proto::CaptureResult& capture, std::optional<std::uint64_t> count);

}  // namespace squib::netctl
