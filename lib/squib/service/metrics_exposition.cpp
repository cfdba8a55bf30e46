#include <squib/service/metrics_exposition.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <functional>

#include <squib/backend/backend.hpp>

namespace squib::service {

namespace {

// One sample line's label set (without braces) and value text.
struct Sample {
  std::string labels;
  std::string value;
};

std::string number(std::uint64_t value) { return std::to_string(value); }

// Shortest round-trip text (std::to_chars); the format's spellings for the non-finite.
std::string number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  std::array<char, 64> text{};
  const auto [end, error] = std::to_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() ? std::string(text.data(), end) : "NaN";
}

std::string label(std::string_view key, std::string_view value) {
  return std::string(key) + "=\"" + escape_label_value(value) + "\"";
}

std::string attachment_labels(const proto::AttachmentInfo& info) {
  return label("name", info.name) + "," + label("mode", proto::to_string(info.mode)) + "," +
         label("network", info.network);
}

// Appends one family; nothing when it has no samples.
void family(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            const std::vector<Sample>& samples) {
  if (samples.empty()) return;
  out += "# HELP " + std::string(name) + " " + escape_help(help) + "\n";
  out += "# TYPE " + std::string(name) + " " + std::string(type) + "\n";
  for (const auto& sample : samples) {
    out += name;
    if (!sample.labels.empty()) out += "{" + sample.labels + "}";
    out += " " + sample.value + "\n";
  }
}

// One sample per attachment, `value` of each, labelled by attachment only.
std::vector<Sample> per_attachment(const std::vector<proto::AttachmentStats>& attachments,
                                   const std::function<std::string(const proto::AttachmentStats&)>& value) {
  std::vector<Sample> out;
  for (const auto& entry : attachments) out.push_back({attachment_labels(entry.attachment), value(entry)});
  return out;
}

// Two samples per attachment, one per direction.
std::vector<Sample> per_direction(const std::vector<proto::AttachmentStats>& attachments,
                                  std::uint64_t proto::DirectionStats::*counter) {
  std::vector<Sample> out;
  for (const auto& entry : attachments) {
    const std::string labels = attachment_labels(entry.attachment);
    out.push_back({labels + "," + label("direction", "from_vm"), number(entry.from_vm.*counter)});
    out.push_back({labels + "," + label("direction", "to_vm"), number(entry.to_vm.*counter)});
  }
  return out;
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_metrics(const std::vector<proto::AttachmentStats>& attachments, const DaemonMetrics& daemon) {
  std::string out;
  family(out, "squib_attachment_frames_total", "counter",
         "Frames relayed, by direction: from_vm = sent by the VM and taken by the backend, to_vm = delivered to "
         "the VM's socket.",
         per_direction(attachments, &proto::DirectionStats::frames));
  family(out, "squib_attachment_bytes_total", "counter",
         "Bytes of the frames counted in squib_attachment_frames_total.",
         per_direction(attachments, &proto::DirectionStats::bytes));
  family(out, "squib_attachment_batches_total", "counter",
         "Loop wakeups that moved at least one frame, by direction (frames / batches = mean batch size).",
         per_direction(attachments, &proto::DirectionStats::batches));
  std::vector<Sample> drops;
  for (const auto& entry : attachments) {
    const std::string labels = attachment_labels(entry.attachment);
    for (const auto& [reason, count] : entry.drops)
      drops.push_back({labels + "," + label("reason", reason), number(count)});
  }
  family(out, "squib_attachment_drops_total", "counter",
         "Frames not delivered, by reason (proto/control-protocol.md, stats).", drops);
  family(out, "squib_attachment_errors_total", "counter", "Unexpected syscall failures on the data path.",
         per_attachment(attachments, [](const auto& entry) { return number(entry.errors); }));
  family(out, "squib_attachment_child_restarts_total", "counter",
         "Times the attachment's userspace child died and was restarted.",
         per_attachment(attachments, [](const auto& entry) { return number(entry.child_restarts); }));
  family(out, "squib_attachment_child_reconfigurations_total", "counter",
         "Times the attachment's userspace child was restarted on purpose with new arguments (forwards).",
         per_attachment(attachments, [](const auto& entry) { return number(entry.child_reconfigurations); }));
  std::vector<Sample> states;
  for (const auto& entry : attachments) {
    const std::string labels = attachment_labels(entry.attachment);
    for (int s = 0; s <= static_cast<int>(backend::BackendState::stopped); ++s) {
      const std::string_view state = backend::to_string(static_cast<backend::BackendState>(s));
      states.push_back({labels + "," + label("state", state), entry.attachment.state == state ? "1" : "0"});
    }
  }
  family(out, "squib_attachment_state", "gauge", "1 for the state the attachment is in, 0 for the others.", states);
  family(out, "squib_attachment_peer_connected", "gauge",
         "1 when a VMM has sent from the attachment's socket (or holds its handed-off TAP open).",
         per_attachment(attachments, [](const auto& entry) { return entry.attachment.peer_connected ? "1" : "0"; }));
  family(out, "squib_attachment_uptime_seconds", "gauge", "Seconds since the attachment was created.",
         per_attachment(attachments, [](const auto& entry) { return number(entry.uptime_s); }));

  family(out, "squib_daemon_info", "gauge", "Constant 1, labelled with the daemon's version.",
         {{label("version", daemon.version), "1"}});
  family(out, "squib_daemon_uptime_seconds", "gauge", "Seconds since squib-netd started.",
         {{"", number(daemon.uptime_s)}});
  family(out, "squib_daemon_attachments", "gauge", "Attachments the daemon holds, every owner's.",
         {{"", number(daemon.attachments)}});
  family(out, "squib_daemon_control_connections", "gauge", "Open control-socket connections.",
         {{"", number(daemon.control_connections)}});
  family(out, "squib_daemon_subscribers", "gauge", "Open subscribe (event) streams.",
         {{"", number(daemon.subscribers)}});
  family(out, "squib_daemon_events_lost_total", "counter",
         "Events not delivered because a subscriber did not keep up (its queue was full).",
         {{"", number(daemon.events_lost)}});
  if (!daemon.uplinks.empty()) {
    // The uplink device's counters (ip -s link): rx is what arrived from other hosts.
    const auto uplink_family = [&](const char* name, const char* help, std::uint64_t proto::LinkCounters::*member) {
      std::vector<Sample> samples;
      for (const auto& [network, counters] : daemon.uplinks) {
        samples.push_back({label("network", network), number(counters.*member)});
      }
      family(out, name, "counter", help, samples);
    };
    uplink_family("squib_network_uplink_rx_packets_total", "Packets the network's uplink received from other hosts.",
                  &proto::LinkCounters::rx_packets);
    uplink_family("squib_network_uplink_rx_bytes_total", "Bytes the network's uplink received from other hosts.",
                  &proto::LinkCounters::rx_bytes);
    uplink_family("squib_network_uplink_tx_packets_total", "Packets the network's uplink sent to other hosts.",
                  &proto::LinkCounters::tx_packets);
    uplink_family("squib_network_uplink_tx_bytes_total", "Bytes the network's uplink sent to other hosts.",
                  &proto::LinkCounters::tx_bytes);
    uplink_family("squib_network_uplink_rx_dropped_total", "Packets the network's uplink dropped on receive.",
                  &proto::LinkCounters::rx_dropped);
    uplink_family("squib_network_uplink_tx_dropped_total", "Packets the network's uplink dropped on send.",
                  &proto::LinkCounters::tx_dropped);
  }
  if (daemon.loop) {
    family(out, "squib_daemon_loop_max_stall_seconds", "gauge",
           "The longest time the daemon's event loop could not run since start.",
           {{"", number(daemon.loop->max_stall_ms / 1000.0)}});
    family(out, "squib_daemon_loop_stalls_total", "counter", "Event-loop stalls longer than 10 ms since start.",
           {{"", number(daemon.loop->stalls_over_10ms)}});
  }
  return out;
}

}  // namespace squib::service
