#pragma once

// What every squib-netctl subcommand shares: the global options, the exit codes (design
// brief §4: 0 ok, 1 the daemon reported an error, 2 usage, 3 the daemon cannot be reached),
// one request through proto's client, and a result read through proto's decoders.

#include <iostream>
#include <string>

#include <squib/proto/messages.hpp>

namespace squib::netctl {

using proto::json;

inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_daemon_error = 1;
inline constexpr int k_exit_usage = 2;
inline constexpr int k_exit_unreachable = 3;

struct Options {
  std::string control;
  bool json_output = false;
};

// One call; prints transport errors and daemon errors and maps them to exit codes (with
// --json each failure is also one JSON object on stdout). A file descriptor sent with the
// reply (fd_passing) is stored in *passed_fd when asked for.
int call(const Options& options, const std::string& method, const json& params, json& result, int* passed_fd = nullptr);

// Prints a transport failure as call() does; returns k_exit_unreachable.
int unreachable(const Options& options, const std::string& message);

// Reads a daemon result with proto's decoder; a reply it cannot read is reported like a
// daemon error (exit 1), never an exception.
template <class T>
int read_result(const std::string& method, const json& result, T& out) {
  try {
    out = proto::from_json<T>(result);
    return k_exit_ok;
  } catch (const proto::ParamError& e) {
    std::cerr << "squib-netctl: " << method << ": unexpected reply: " << e.what() << "\n";
  } catch (const json::exception& e) {
    std::cerr << "squib-netctl: " << method << ": unexpected reply: " << e.what() << "\n";
  }
  return k_exit_daemon_error;
}

}  // namespace squib::netctl
