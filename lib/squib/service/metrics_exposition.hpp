#pragma once

// The Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/, "Text-based format"), of
// the daemon's counters: the one renderer behind `metrics` and --metrics-textfile.
//
// Theory of operation:
// - Every family is `# HELP`, `# TYPE`, then all of its samples, one contiguous group (the
//   format requires a family's lines together); a family without samples (no attachment
//   visible) is left out entirely, so no reader sees an empty TYPE.
// - Attachment samples carry `name`, `mode` and `network` labels (plus `direction`,
//   `reason` or `state` where a family splits by them), in the order of the input.
//   Counters end in `_total`, durations are seconds (Prometheus naming conventions).
// - Label values are escaped as the format says (`\\`, `\"`, `\n`); HELP text escapes `\\`
//   and `\n`. Our names cannot hold any of those today ([A-Za-z0-9_.-]), the renderer does
//   not rely on it.
// - No timestamps: the reader (Prometheus, node_exporter's textfile collector, which
//   rejects them) stamps the scrape.
// - `state` is a state set: one series per state an attachment can be in, 1 for the
//   current one, so `squib_attachment_state{state="failed"} == 1` is an alert rule.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <squib/proto/messages.hpp>
#include <squib/proto/network_messages.hpp>

namespace squib::service {

// What the daemon itself reports beside its attachments.
struct DaemonMetrics {
  std::string version;
  double uptime_s = 0;
  std::uint64_t attachments = 0;  // all of the daemon's, whoever asks (as `status` says)
  std::uint64_t control_connections = 0;
  std::uint64_t subscribers = 0;          // `subscribe` streams open
  std::uint64_t events_lost = 0;          // events subscribers lost (their queue was full)
  std::optional<proto::LoopStatus> loop;  // absent without a lag probe
  // Networks with an uplink (issue 15): the VXLAN device's kernel counters, by network name.
  std::vector<std::pair<std::string, proto::LinkCounters>> uplinks = {};
};

// The exposition of `attachments` (as `stats` gives them to the caller) and `daemon`; ends
// with a newline.
std::string render_metrics(const std::vector<proto::AttachmentStats>& attachments, const DaemonMetrics& daemon);

// The format's escapes: a label value (`\` → `\\`, `"` → `\"`, newline → `\n`), and HELP
// text (`\` and newline only).
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view text);

}  // namespace squib::service
