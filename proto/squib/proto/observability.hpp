#pragma once

// The observability methods' parameters and results (proto/control-protocol.md, "metrics",
// "subscribe"): kept apart from messages.hpp so that each stays one job. The JSON shapes
// are defined only here; the daemon encodes with to_json, squib-netctl decodes with
// from_json (a member it cannot read is a ParamError naming it).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <squib/proto/messages.hpp>

namespace squib::proto {

// The media type of the Prometheus text exposition format this daemon writes
// (https://prometheus.io/docs/instrumenting/exposition_formats/, "Text-based format").
inline constexpr const char* k_metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

// `metrics` {} → {content_type, text}: `text` is the whole exposition, newline-terminated.
struct MetricsResult {
  std::string content_type = k_metrics_content_type;
  std::string text;
};
json to_json(const MetricsResult& result);
void from_json(const json& value, MetricsResult& out);

// ---- `subscribe` and the events it streams ----

// Every event type, as `type` names it:
//   started         an attachment runs (its `start` answered ok, or it was restored)
//   stopped         an attachment was stopped (`stop`)
//   state           its state changed: `state` is the new one, `previous` the old
//   child_exit      its userspace child died on its own and is restarted (with backoff,
//                   until it has failed 5 times fast): `exit_status`, `signal`
//   peer_connected  a VMM sent from `peer` (the daemon answers there now)
//   peer_gone       the VMM's socket vanished (ECONNREFUSED/ENOENT on a send)
//   lease           host/shared: the network's DHCP server gave the guest `address`
//                   (`hostname` when the guest sent one)
//   stats           every stats_interval_ms: `stats` is the attachment's `stats` entry
inline constexpr std::array<std::string_view, 8> k_event_types = {"started",        "stopped",   "state", "child_exit",
                                                                  "peer_connected", "peer_gone", "lease", "stats"};

// Bounds of stats_interval_ms: 100 ms (ten rounds a second of every attachment's counters is
// plenty for a person or a script) to one hour.
inline constexpr std::uint32_t k_min_stats_interval_ms = 100;
inline constexpr std::uint32_t k_max_stats_interval_ms = 3'600'000;

// `subscribe` {events?: [type…], stats_interval_ms?}: `events` absent or empty = every type
// but `stats`, which comes only with stats_interval_ms (then it is implied).
struct SubscribeParams {
  std::vector<std::string> events;
  std::optional<std::uint32_t> stats_interval_ms;
};
SubscribeParams parse_subscribe_params(const json& params);
json to_json(const SubscribeParams& params);

// `subscribe` → {events: [the types this connection will get], stats_interval_ms (or null)}.
struct SubscribeResult {
  std::vector<std::string> events;
  std::optional<std::uint32_t> stats_interval_ms;
};
json to_json(const SubscribeResult& result);
void from_json(const json& value, SubscribeResult& out);

// One event: {time, type, name, …}, the members of its type present, the others absent.
struct Event {
  double time = 0;  // seconds since the Unix epoch (the daemon's clock)
  std::string type;
  std::string name;
  std::optional<std::string> mode;          // started
  std::optional<std::string> network;       // started
  std::optional<std::string> state;         // state
  std::optional<std::string> previous;      // state
  std::optional<std::int64_t> exit_status;  // child_exit
  std::optional<int> signal;                // child_exit (0: it exited)
  std::optional<std::string> peer;          // peer_connected
  std::optional<std::string> address;       // lease
  std::optional<std::string> hostname;      // lease
  std::optional<AttachmentStats> stats;     // stats
  // Events this subscriber lost just before this one (its queue was full); absent when 0.
  std::uint64_t lost = 0;
};
json to_json(const Event& event);
void from_json(const json& value, Event& out);
// The notification line (without newline): {"jsonrpc":"2.0","method":"event","params":EVENT}.
std::string encode_event(const Event& event);
// An event notification line read back; nullopt for any other line.
std::optional<Event> parse_event(std::string_view line);

}  // namespace squib::proto
