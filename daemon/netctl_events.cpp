// squib-netctl events [--stats SEC] [NAME…]: subscribes and prints each event as it comes,
// one line each — `--json`: the event objects as the daemon sent them (`params` of each
// notification), one per line, for scripts. Runs until interrupted or the daemon goes
// (exit 3 then, as for any lost daemon).

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <squib/proto/client.hpp>
#include <squib/proto/observability.hpp>

#include "netctl_commands.hpp"

namespace squib::netctl {

namespace {

// How long one wait for the next event may last before it simply waits again: a quiet
// daemon is not an error. (poll(2) takes an int of milliseconds.)
constexpr std::chrono::hours k_wait{24};

std::string local_time(double unix_seconds) {
  const auto seconds = static_cast<std::time_t>(unix_seconds);
  std::tm local{};
  ::localtime_r(&seconds, &local);
  char text[32];
  std::strftime(text, sizeof text, "%H:%M:%S", &local);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03d",
                static_cast<int>((unix_seconds - static_cast<double>(seconds)) * 1000) % 1000);
  return std::string(text) + millis;
}

// Appends each part in turn. (Not `out += "x" + s`: GCC 12 at -O3 reports a false
// -Wrestrict for operator+(const char*, std::string&&), which -Werror makes fatal.)
void append(std::string& out, std::initializer_list<std::string_view> parts) {
  for (const auto part : parts) out.append(part);
}

std::string describe(const proto::Event& event) {
  std::string out;
  append(out, {local_time(event.time), "  ", event.name, "  ", event.type});
  if (event.type == "started") {
    append(out, {" (", event.mode.value_or("?"), " mode, network ", event.network.value_or("?"), ")"});
  } else if (event.type == "state") {
    append(out, {" ", event.previous.value_or("?"), " -> ", event.state.value_or("?")});
  } else if (event.type == "child_exit") {
    if (event.signal.value_or(0) != 0) {
      append(out, {": child killed by signal ", std::to_string(*event.signal)});
    } else {
      append(out, {": child exited with status ", std::to_string(event.exit_status.value_or(0))});
    }
    append(out, {", restarting"});
  } else if (event.type == "peer_connected") {
    append(out, {": VMM at ", event.peer.value_or("?")});
  } else if (event.type == "lease") {
    append(out, {": ", event.address.value_or("?")});
    if (event.hostname) append(out, {" (", *event.hostname, ")"});
  } else if (event.type == "stats" && event.stats) {
    const auto& s = *event.stats;
    append(out, {": from_vm ", std::to_string(s.from_vm.frames), " frames ", std::to_string(s.from_vm.bytes),
                 " bytes, to_vm ", std::to_string(s.to_vm.frames), " frames ", std::to_string(s.to_vm.bytes),
                 " bytes, dropped ", std::to_string(s.dropped_total)});
  }
  if (event.lost > 0) append(out, {"  [", std::to_string(event.lost), " events lost before this one]"});
  return out;
}

}  // namespace

int events_command(const Options& options, const std::vector<std::string>& names, double stats_s) {
  proto::SubscribeParams params;
  if (stats_s > 0) params.stats_interval_ms = static_cast<std::uint32_t>(stats_s * 1000);
  auto client = proto::ControlClient::connect(options.control, k_wait);
  if (!client)
    return unreachable(options, "cannot reach squib-netd at " + options.control + ": " + client.error().message);
  auto response = client->call("subscribe", proto::to_json(params));
  if (!response) return unreachable(options, response.error().message);
  if (!response->ok()) {
    std::cerr << "squib-netctl: subscribe: " << response->error_message << " (code " << response->error_code << ")\n";
    return k_exit_daemon_error;
  }
  const std::set<std::string> only(names.begin(), names.end());
  for (;;) {
    auto line = client->read_line();
    if (!line) {
      if (line.error().code == ETIMEDOUT) continue;
      return unreachable(options, line.error().message);
    }
    const auto event = proto::parse_event(line.value());
    if (!event || (!only.empty() && !only.contains(event->name))) continue;
    if (options.json_output) {
      std::fputs((proto::to_json(*event).dump() + "\n").c_str(), stdout);
    } else {
      std::fputs((describe(*event) + "\n").c_str(), stdout);
    }
    std::fflush(stdout);
  }
}

}  // namespace squib::netctl
