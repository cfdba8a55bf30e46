// service/metrics_exposition: the renderer's output read back by the strict reader of
// tests/support/exposition.hpp, including label values that need every escape.

#include <squib/service/metrics_exposition.hpp>

#include <variant>

#include "support/catch.hpp"
#include "support/exposition.hpp"

using squib::service::DaemonMetrics;
using squib::service::render_metrics;
using squib::test::Exposition;
using squib::test::ExpositionError;
using squib::test::parse_exposition;

namespace {

Exposition parsed(const std::string& text) { return squib::test::require_exposition(text); }

squib::proto::AttachmentStats attachment(const std::string& name, const std::string& network) {
  squib::proto::AttachmentStats out;
  out.attachment.name = name;
  out.attachment.mode = squib::proto::Mode::userspace;
  out.attachment.network = network;
  out.attachment.state = "running";
  out.from_vm = {7, 700, 3, 7.0 / 3};
  out.to_vm = {5, 500, 5, 1.0};
  out.drops = {{"runt", 2}, {"vm_full", 0}};
  out.child_restarts = 1;
  out.uptime_s = 1.5;
  return out;
}

}  // namespace

TEST_CASE("metrics exposition: escapes label values and HELP text as the format says", "[service][metrics]") {
  CHECK(squib::service::escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  CHECK(squib::service::escape_help("a\"b\\c\nd") == "a\"b\\\\c\\nd");
}

TEST_CASE("metrics exposition: every attachment's counters, labelled, readable by a strict parser",
          "[service][metrics]") {
  const std::string odd_network = "net\"with\\odd\nchars";
  DaemonMetrics daemon{"1.2.3", 12.25, 2, 3, 1, 7, squib::proto::LoopStatus{4.5, 6}};
  const auto text = render_metrics({attachment("vm1", "default"), attachment("vm2", odd_network)}, daemon);
  const auto metrics = parsed(text);

  const std::map<std::string, std::string> vm1 = {{"name", "vm1"}, {"mode", "userspace"}, {"network", "default"}};
  const auto with = [](auto labels, const std::string& key, const std::string& value) {
    labels[key] = value;
    return labels;
  };
  CHECK(metrics.value("squib_attachment_frames_total", with(vm1, "direction", "from_vm")) == 7);
  CHECK(metrics.value("squib_attachment_frames_total", with(vm1, "direction", "to_vm")) == 5);
  CHECK(metrics.value("squib_attachment_bytes_total", with(vm1, "direction", "from_vm")) == 700);
  CHECK(metrics.value("squib_attachment_batches_total", with(vm1, "direction", "from_vm")) == 3);
  CHECK(metrics.value("squib_attachment_drops_total", with(vm1, "reason", "runt")) == 2);
  CHECK(metrics.value("squib_attachment_drops_total", with(vm1, "reason", "vm_full")) == 0);
  CHECK(metrics.value("squib_attachment_child_restarts_total", vm1) == 1);
  CHECK(metrics.value("squib_attachment_state", with(vm1, "state", "running")) == 1);
  CHECK(metrics.value("squib_attachment_state", with(vm1, "state", "failed")) == 0);
  CHECK(metrics.value("squib_attachment_uptime_seconds", vm1) == 1.5);
  CHECK(metrics.value("squib_attachment_frames_total",
                      {{"name", "vm2"}, {"network", odd_network}, {"direction", "to_vm"}}) == 5);
  CHECK(metrics.label_values("squib_attachment_frames_total", "name") == std::set<std::string>{"vm1", "vm2"});

  CHECK(metrics.value("squib_daemon_uptime_seconds") == 12.25);
  CHECK(metrics.value("squib_daemon_attachments") == 2);
  CHECK(metrics.value("squib_daemon_control_connections") == 3);
  CHECK(metrics.value("squib_daemon_loop_max_stall_seconds") == 0.0045);
  CHECK(metrics.value("squib_daemon_loop_stalls_total") == 6);
  CHECK(metrics.value("squib_daemon_subscribers") == 1);
  CHECK(metrics.value("squib_daemon_events_lost_total") == 7);
  CHECK(metrics.value("squib_daemon_info", {{"version", "1.2.3"}}) == 1);
  CHECK(metrics.types.at("squib_attachment_frames_total") == "counter");
  CHECK(metrics.types.at("squib_attachment_state") == "gauge");
}

TEST_CASE("metrics exposition: no attachment visible leaves out their families, not their HELP alone",
          "[service][metrics]") {
  const auto metrics = parsed(render_metrics({}, DaemonMetrics{"1.2.3", 1, 0, 1, 0, 0, std::nullopt}));
  CHECK_FALSE(metrics.types.contains("squib_attachment_frames_total"));
  CHECK_FALSE(metrics.types.contains("squib_daemon_loop_max_stall_seconds"));  // no probe
  CHECK(metrics.value("squib_daemon_control_connections") == 1);
}

TEST_CASE("metrics exposition: a network's uplink counters, labelled with the network", "[service][metrics]") {
  DaemonMetrics daemon{"1.2.3", 1, 0, 1, 0, 0, std::nullopt};
  CHECK_FALSE(parsed(render_metrics({}, daemon)).types.contains("squib_network_uplink_rx_packets_total"));
  squib::proto::LinkCounters counters;
  counters.rx_packets = 5;
  counters.tx_bytes = 700;
  counters.rx_dropped = 2;
  daemon.uplinks.emplace_back("fleet", counters);
  const auto metrics = parsed(render_metrics({}, daemon));
  CHECK(metrics.value("squib_network_uplink_rx_packets_total", {{"network", "fleet"}}) == 5);
  CHECK(metrics.value("squib_network_uplink_tx_bytes_total", {{"network", "fleet"}}) == 700);
  CHECK(metrics.value("squib_network_uplink_rx_dropped_total", {{"network", "fleet"}}) == 2);
  CHECK(metrics.value("squib_network_uplink_tx_dropped_total", {{"network", "fleet"}}) == 0);
  CHECK(metrics.types.at("squib_network_uplink_rx_bytes_total") == "counter");
}

TEST_CASE("exposition reader: refuses what the format forbids", "[service][metrics]") {
  const auto refused = [](const std::string& text) {
    return std::holds_alternative<ExpositionError>(parse_exposition(text));
  };
  const std::string head = "# HELP m_total Help.\n# TYPE m_total counter\n";
  CHECK_FALSE(refused(head + "m_total{a=\"x\\\"y\"} 1\n"));
  CHECK(refused(head + "m_total 1"));                                 // no final newline
  CHECK(refused("m_total 1\n"));                                      // no TYPE first
  CHECK(refused(head + "m_total -1\n"));                              // negative counter
  CHECK(refused(head + "m_total one\n"));                             // not a number
  CHECK(refused(head + "m_total{a=\"x\\t\"} 1\n"));                   // unknown escape
  CHECK(refused(head + "m_total{a=\"x\",a=\"y\"} 1\n"));              // repeated label
  CHECK(refused(head + "m_total{a=\"x\"} 1\nm_total{a=\"x\"} 2\n"));  // duplicate series
  CHECK(refused(head + "m_total 1 1700000000\n"));                    // timestamp
  CHECK(refused(head + "m_total{1a=\"x\"} 1\n"));                     // bad label name
  CHECK(refused("# HELP 1m x\n"));                                    // bad metric name
  CHECK(refused(head + "\n"));                                        // blank line
  CHECK(refused(head + "m_total{a=\"1\"} 1\n# HELP g G.\n# TYPE g gauge\ng 1\nm_total{a=\"2\"} 1\n"));  // split
}
