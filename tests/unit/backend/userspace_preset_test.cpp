// Tests of squib/backend/userspace_preset.hpp: the exact command lines squib-netd gives
// passt, gvproxy and custom programs. gvproxy is not packaged on Debian, so these lines are
// the contract checked here; the integration tests run them against a gvproxy-compatible peer.

#include <squib/backend/userspace_preset.hpp>

#include <string>
#include <vector>

#include "support/catch.hpp"

using squib::backend::LinkFraming;
using squib::backend::plan_userspace_launch;
using squib::backend::UserspaceConfig;
using Args = std::vector<std::string>;

TEST_CASE("passt gets the socketpair as fd 3, in the foreground, with the MTU and its PID file", "[unit][backend]") {
  UserspaceConfig config;
  config.kind = "passt";
  config.link_dir = "/run/squib-net";
  SECTION("defaults") {
    const auto plan = plan_userspace_launch(config, "vm1", 1500);
    CHECK(plan.inherits_fd);
    CHECK(plan.listen_path.empty());
    CHECK(plan.pid_path == "/run/squib-net/passt/vm1.pid");
    CHECK(plan.args == Args{"--foreground", "--fd", "3", "--mtu", "1500", "--pid", "/run/squib-net/passt/vm1.pid"});
  }
  SECTION("port forwards become -t/-u specs, extra args come last") {
    config.forwards = {{"tcp", "127.0.0.1", 2222, 22}, {"udp", "0.0.0.0", 5353, 53}};
    config.extra_args = {"--no-icmp"};
    const auto plan = plan_userspace_launch(config, "vm1", 9000);
    CHECK(plan.args == Args{"--foreground", "--fd", "3", "--mtu", "9000", "--pid", "/run/squib-net/passt/vm1.pid",
                            "--tcp-ports", "127.0.0.1/2222:22",
                            "--udp-ports", "0.0.0.0/5353:53", "--no-icmp"});
  }
}

TEST_CASE("gvproxy listens on paths in the run dir, in the chosen framing", "[unit][backend]") {
  UserspaceConfig config;
  config.kind = "gvproxy";
  config.link_dir = "/run/squib-net";
  SECTION("QEMU stream framing") {
    const auto plan = plan_userspace_launch(config, "vm1", 1500);
    CHECK_FALSE(plan.inherits_fd);
    CHECK(plan.listen_path == "/run/squib-net/vm1.gvproxy.sock");
    CHECK(plan.api_path == "/run/squib-net/vm1.gvproxy-api.sock");
    CHECK(plan.args == Args{"-listen-qemu", "unix:///run/squib-net/vm1.gvproxy.sock", "-mtu", "1500", "-ssh-port", "-1",
                            "-listen", "unix:///run/squib-net/vm1.gvproxy-api.sock"});
  }
  SECTION("vfkit datagram framing") {
    config.framing = LinkFraming::vfkit_datagram;
    config.extra_args = {"-debug"};
    const auto plan = plan_userspace_launch(config, "vm1", 4000);
    CHECK(plan.args == Args{"-listen-vfkit", "unixgram:///run/squib-net/vm1.gvproxy.sock", "-mtu", "4000", "-ssh-port",
                            "-1", "-listen", "unix:///run/squib-net/vm1.gvproxy-api.sock", "-debug"});
  }
}

TEST_CASE("custom programs get exactly their arguments, {fd} replaced by 3", "[unit][backend]") {
  UserspaceConfig config;
  config.kind = "custom";
  config.extra_args = {"--link", "{fd}", "x{fd}"};
  const auto plan = plan_userspace_launch(config, "vm1", 1500);
  CHECK(plan.inherits_fd);
  CHECK(plan.args == Args{"--link", "3", "x{fd}"});
}
