// Metrics through the real daemon: `metrics`, `squib-netctl metrics` and
// --metrics-textfile, each read back by the strict exposition reader
// (tests/support/exposition.hpp), with two attachments whose userspace child is the echo
// peer, so every frame a FakeVmm sends is counted once from_vm and once to_vm.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <variant>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/exposition.hpp"

using namespace squib::test;
using namespace std::chrono_literals;

namespace {

Exposition parsed(const std::string& text) { return require_exposition(text); }

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::map<std::string, std::string> labels_of(const std::string& name, const std::string& direction) {
  return {{"name", name}, {"mode", "userspace"}, {"network", "default"}, {"direction", direction}};
}

// Sends `count` frames from `vm` and waits for each echo.
void echo_frames(const FakeVmm& vm, const std::string& mac, int count) {
  for (int i = 0; i < count; ++i) {
    vm.send(make_frame(mac, 100, static_cast<std::uint8_t>(i)));
    REQUIRE(vm.receive().has_value());
  }
}

// Two echo attachments, `a` with 5 frames each way, `b` with 3.
struct TwoAttachments {
  TempDir dir;
  DaemonProcess daemon;
  std::optional<FakeVmm> vm_a;
  std::optional<FakeVmm> vm_b;

  explicit TwoAttachments(std::vector<std::string> args = {}) : daemon(dir.path(), std::move(args)) {
    const auto a = daemon.ok("start", echo_start("a"));
    const auto b = daemon.ok("start", echo_start("b"));
    vm_a.emplace(dir.path() + "/a.local", a["socket"]);
    vm_b.emplace(dir.path() + "/b.local", b["socket"]);
    echo_frames(*vm_a, a["mac"], 5);
    echo_frames(*vm_b, b["mac"], 3);
  }
};

void check_counts(const Exposition& metrics) {
  CHECK(metrics.label_values("squib_attachment_frames_total", "name") == std::set<std::string>{"a", "b"});
  CHECK(metrics.value("squib_attachment_frames_total", labels_of("a", "from_vm")) == 5);
  CHECK(metrics.value("squib_attachment_frames_total", labels_of("a", "to_vm")) == 5);
  CHECK(metrics.value("squib_attachment_frames_total", labels_of("b", "from_vm")) == 3);
  CHECK(metrics.value("squib_attachment_frames_total", labels_of("b", "to_vm")) == 3);
  CHECK(metrics.value("squib_attachment_bytes_total", labels_of("a", "from_vm")) == 500);
  CHECK(metrics.value("squib_attachment_drops_total", {{"name", "a"}, {"reason", "no_peer"}}) == 0);
  CHECK(metrics.value("squib_attachment_state", {{"name", "b"}, {"state", "running"}}) == 1);
  CHECK(metrics.value("squib_attachment_peer_connected", {{"name", "a"}}) == 1);
  CHECK(metrics.value("squib_attachment_child_restarts_total", {{"name", "a"}}) == 0);
  CHECK(metrics.value("squib_daemon_attachments") == 2);
  CHECK(metrics.value("squib_daemon_loop_stalls_total").has_value());
}

}  // namespace

TEST_CASE("metrics: the exposition of a running daemon names each attachment and counts its frames",
          "[integration][metrics]") {
  TwoAttachments rig;
  const auto result = rig.daemon.ok("metrics");
  CHECK(result["content_type"] == "text/plain; version=0.0.4; charset=utf-8");
  const auto metrics = parsed(result["text"]);
  check_counts(metrics);
  CHECK(metrics.value("squib_daemon_control_connections") >= 1);  // this request's own

  SECTION("squib-netctl metrics prints the same exposition") {
    const auto run = run_command(std::string(SQUIB_NETCTL_PATH) + " --control " + rig.daemon.control_path() +
                                 " metrics 2>/dev/null");
    CHECK(run.exit_code == 0);
    check_counts(parsed(run.output));
  }
}

TEST_CASE("metrics: --metrics-textfile appears, follows the counters, replaces a symlink, goes at shutdown",
          "[integration][metrics]") {
  TempDir outside;
  TempDir textfiles;
  const std::string path = textfiles.file("squib.prom");
  const std::string target = outside.file("target");
  // A symlink planted at the path must be replaced, never written through.
  REQUIRE(::symlink(target.c_str(), path.c_str()) == 0);
  TwoAttachments rig({"--metrics-textfile", path, "--metrics-interval", "1"});

  REQUIRE(eventually(
      [&] {
        const auto text = read_file(path);
        if (!text) return false;
        const auto result = parse_exposition(*text);
        const auto* metrics = std::get_if<Exposition>(&result);
        return metrics != nullptr && metrics->value("squib_attachment_frames_total", labels_of("b", "to_vm")) == 3;
      },
      10s));
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 0777) == 0644);
  CHECK_FALSE(path_exists(target));
  check_counts(parsed(*read_file(path)));

  // The next rewrite carries new traffic.
  echo_frames(*rig.vm_a, stats_of(rig.daemon, "a")["mac"], 2);
  CHECK(eventually(
      [&] {
        const auto result = parse_exposition(read_file(path).value_or(""));
        const auto* metrics = std::get_if<Exposition>(&result);
        return metrics != nullptr && metrics->value("squib_attachment_frames_total", labels_of("a", "from_vm")) == 7;
      },
      10s));
  CHECK_FALSE(path_exists(path + ".tmp"));

  CHECK(rig.daemon.stop(SIGTERM) == 0);
  CHECK_FALSE(path_exists(path));
  CHECK_FALSE(path_exists(path + ".tmp"));
}
