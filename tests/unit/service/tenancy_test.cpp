// Tests of squib/service/tenancy.hpp: what a control-group member may ask, and that root may
// ask everything. Each refusal is -32003 and names the field and the rule.

#include <squib/service/tenancy.hpp>

#include <string>

#include "support/catch.hpp"

namespace {

using squib::proto::ErrorCode;
using squib::proto::Mode;
using squib::proto::StartParams;
using squib::service::DaemonConfig;
using squib::service::PeerCredentials;

const PeerCredentials k_root{1, 0, 0};
const PeerCredentials k_member{2, 1001, 1001};

StartParams start(Mode mode) {
  StartParams params;
  params.name = "vm";
  params.mode = mode;
  return params;
}

std::string refusal(const DaemonConfig& config, const PeerCredentials& caller, const StartParams& params) {
  const auto refused = squib::service::refuse_start(config, caller, params);
  if (!refused) return "(allowed)";
  CHECK(refused->code == ErrorCode::permission_denied);
  return refused->message;
}

}  // namespace

TEST_CASE("refuse_start: root-only fields, modes, bridges, args and forwards", "[service]") {
  DaemonConfig config;
  SECTION("a plain start of every mode is allowed by default") {
    for (const Mode mode : {Mode::shared, Mode::host, Mode::userspace})
      CHECK(refusal(config, k_member, start(mode)) == "(allowed)");
  }
  SECTION("owner, custom programs, program paths") {
    auto params = start(Mode::userspace);
    params.owner = squib::proto::Owner{0, 0, false};
    CHECK(refusal(config, k_member, params) == "owner: only root may attach a socket to another user");
    CHECK(refusal(config, k_root, params) == "(allowed)");
    params = start(Mode::userspace);
    params.userspace.kind = "custom";
    CHECK(refusal(config, k_member, params) == "userspace.kind: custom programs may only be started by root");
    params = start(Mode::userspace);
    params.userspace.path = "/bin/sh";
    CHECK(refusal(config, k_member, params) ==
          "userspace.path: only root may choose the program; the daemon's configured path is used");
  }
  SECTION("guard mac (any IP source) is root's") {
    auto params = start(Mode::host);
    params.guard = squib::proto::Guard::mac;
    CHECK(refusal(config, k_member, params) == "guard: only root may relax the anti-spoofing guard");
    CHECK(refusal(config, k_root, params) == "(allowed)");
  }
  SECTION("userspace.args go through the allow-list for members only") {
    auto params = start(Mode::userspace);
    params.userspace.args = {"--log-file", "/root/x.log"};
    CHECK(refusal(config, k_member, params) ==
          "userspace.args: '--log-file' is not on the members' allow-list for passt (root may pass it); see "
          "docs/security.md");
    CHECK(refusal(config, k_root, params) == "(allowed)");
    params.userspace.args = {"--no-dhcpv6"};
    CHECK(refusal(config, k_member, params) == "(allowed)");
  }
  SECTION("member_modes limits members, never root") {
    config.member_modes = {Mode::host, Mode::userspace};
    CHECK(refusal(config, k_member, start(Mode::shared)) ==
          "mode: shared is reserved to root on this daemon (members may use: host, userspace)");
    CHECK(refusal(config, k_member, start(Mode::host)) == "(allowed)");
    CHECK(refusal(config, k_root, start(Mode::shared)) == "(allowed)");
  }
  SECTION("bridged: only the allowed bridges for members") {
    auto params = start(Mode::bridged);
    params.bridge = "br-lan";
    CHECK(refusal(config, k_member, params) ==
          "bridge: br-lan is not among the bridges members may use (the daemon's allowed_bridges: none)");
    config.allowed_bridges = {"br-vms", "br-lan"};
    CHECK(refusal(config, k_member, params) == "(allowed)");
    params.bridge = "br0";
    CHECK(refusal(config, k_member, params) ==
          "bridge: br0 is not among the bridges members may use (the daemon's allowed_bridges: br-vms, br-lan)");
    CHECK(refusal(config, k_root, params) == "(allowed)");
  }
  SECTION("forwards below the unprivileged-port boundary are root's") {
    auto params = start(Mode::userspace);
    params.forwards = {{"tcp", "127.0.0.1", 2222, 22}, {"tcp", "127.0.0.1", 80, 80}};
    CHECK(refusal(config, k_member, params) ==
          "forwards[1].host: host port 80 is below 1024, the unprivileged-port boundary: only root may forward it");
    CHECK(refusal(config, k_root, params) == "(allowed)");
    config.unprivileged_port_start = 0;  // the sysctl lowered: every port is unprivileged
    CHECK(refusal(config, k_member, params) == "(allowed)");
  }
}

TEST_CASE("refuse_start: a member may hand off its own passt (issue 17), under the userspace rules", "[service]") {
  DaemonConfig config;
  StartParams params = start(Mode::userspace);
  params.handoff = squib::proto::Handoff::fd;
  // Its own passt, running as nobody: nothing the relay would have let it reach is more.
  CHECK(refusal(config, k_member, params) == "(allowed)");
  // The userspace rules still hold with the hand-off.
  params.userspace.path = "/usr/local/bin/passt";
  CHECK(refusal(config, k_member, params).starts_with("userspace.path: "));
  params.userspace.path.reset();
  params.forwards.push_back({"tcp", "127.0.0.1", 80, 80});
  CHECK(refusal(config, k_member, params).starts_with("forwards[0].host: "));
}

TEST_CASE("refuse_other_owner: members act on their own attachments only, root on all", "[service]") {
  CHECK_FALSE(squib::service::refuse_other_owner(k_member, "vm", 1001));
  CHECK_FALSE(squib::service::refuse_other_owner(k_root, "vm", 1001));
  const auto refused = squib::service::refuse_other_owner(k_member, "theirs", 1002);
  REQUIRE(refused);
  CHECK(refused->code == ErrorCode::permission_denied);
  CHECK(refused->message ==
        "attachment 'theirs' belongs to uid 1002: members may act only on their own attachments "
        "(root on all)");
}
