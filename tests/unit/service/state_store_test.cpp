// Tests of squib/service/state_store.hpp: parse_state (the loader the fuzz target drives)
// is as strict as the control socket and skips a bad entry with its reason; save_state and
// load_state round-trip through a real file.

#include <squib/service/state_store.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>

#include "support/catch.hpp"
#include "support/temp_dir.hpp"

namespace {

using squib::test::TempDir;

using squib::proto::Mode;
using squib::proto::StartParams;
using squib::service::load_state;
using squib::service::parse_state;
using squib::service::save_state;

const std::string k_name_rule = "must match [A-Za-z0-9_.-]{1,64} and not be . or ..";

}  // namespace

TEST_CASE("parse_state reads a good state file", "[service][state_store]") {
  SECTION("two attachments") {
    const auto state = parse_state(R"({"version":1,"attachments":[
      {"name":"vm1","mode":"shared","network":"default","mtu":1500,"isolation":false,"mac":"02:00:00:00:00:01"},
      {"name":"vm2","mode":"host","mtu":9000,"owner":{"uid":1000,"gid":1000}}]})");
    REQUIRE(state.ok());
    REQUIRE(state.value().attachments.size() == 2);
    CHECK(state.value().rejected.empty());
    const auto& vm1 = state.value().attachments[0];
    CHECK(vm1.name == "vm1");
    CHECK(vm1.mac == "02:00:00:00:00:01");
    const auto& vm2 = state.value().attachments[1];
    CHECK(vm2.name == "vm2");
    CHECK(vm2.mode == Mode::host);
    CHECK(vm2.mtu == 9000);
    REQUIRE(vm2.owner);
    CHECK(vm2.owner->uid == 1000);
  }
  SECTION("no attachments") {
    const auto state = parse_state(R"({"version":1,"attachments":[]})");
    REQUIRE(state.ok());
    CHECK(state.value().attachments.empty());
    CHECK(state.value().rejected.empty());
  }
  SECTION("unknown top-level members are ignored") {
    CHECK(parse_state(R"({"version":1,"attachments":[],"written_by":"0.2"})").ok());
  }
}

TEST_CASE("parse_state rejects a file that is not a version-1 state", "[service][state_store]") {
  SECTION("not a JSON object") {
    const auto text = GENERATE(as<std::string>{}, "", "garbage", "[]", "1", "null", R"({"version":1)");
    const auto state = parse_state(text);
    REQUIRE_FALSE(state.ok());
    CHECK(state.error().code == EINVAL);
    CHECK(state.error().message == "state file is not a JSON object");
  }
  SECTION("missing, wrong or mistyped version") {
    const auto version = GENERATE(as<std::string>{}, "", R"("version":0,)", R"("version":2,)", R"("version":-1,)",
                                  R"("version":"1",)", R"("version":1.0,)", R"("version":true,)", R"("version":null,)",
                                  // 2^32 + 1 and 2^64 - 1: must not be truncated to 1 (or -1)
                                  R"("version":4294967297,)", R"("version":18446744073709551615,)");
    const auto state = parse_state("{" + version + R"("attachments":[]})");
    INFO("version member: " << version);
    REQUIRE_FALSE(state.ok());
    CHECK(state.error().code == EINVAL);
    CHECK(state.error().message == "state file has no supported version (want 1)");
  }
  SECTION("no attachments array") {
    const auto attachments =
        GENERATE(as<std::string>{}, "", R"(,"attachments":{})", R"(,"attachments":null)", R"(,"attachments":"vm1")");
    const auto state = parse_state(R"({"version":1)" + attachments + "}");
    REQUIRE_FALSE(state.ok());
    CHECK(state.error().message == "state file has no attachments array");
  }
}

TEST_CASE("parse_state skips a bad entry with its reason and keeps the rest", "[service][state_store]") {
  const auto state = parse_state(R"({"version":1,"attachments":[
    {"name":"vm1"},
    {"name":"bad/name"},
    {"mtu":1500},
    5,
    {"name":"vm4","mtu":"big"},
    {"name":"vm5","mode":"bridged"},
    {"name":"vm6","owner":{"uid":-1}},
    {"name":"vm7","mode":"host"}]})");
  REQUIRE(state.ok());
  const auto& loaded = state.value();
  REQUIRE(loaded.attachments.size() == 2);
  CHECK(loaded.attachments[0].name == "vm1");
  CHECK(loaded.attachments[1].name == "vm7");
  REQUIRE(loaded.rejected.size() == 6);
  CHECK(loaded.rejected[0] == "entry 1: name: " + k_name_rule);
  CHECK(loaded.rejected[1] == "entry 2: name: is required");
  CHECK(loaded.rejected[2] == "entry 3: name: is required");
  CHECK(loaded.rejected[3] == "entry 4: mtu: must be an integer from 68 to 65535");
  CHECK(loaded.rejected[4] == "entry 5: bridge: is required for mode bridged");
  CHECK(loaded.rejected[5] == "entry 6: owner.uid: must be an integer from 0 to 4294967294");
}

TEST_CASE("save_state and load_state round-trip through a file", "[service][state_store]") {
  TempDir dir;
  const std::string path = dir.path() + "/state.json";

  SECTION("a missing file is an empty state") {
    const auto state = load_state(path);
    REQUIRE(state.ok());
    CHECK(state.value().attachments.empty());
    CHECK(state.value().rejected.empty());
  }
  SECTION("what is saved is loaded, mode 0600, no temp file left") {
    StartParams a;
    a.name = "vm1";
    a.mac = "02:00:00:00:00:01";
    a.owner = squib::proto::Owner{1000, 100};
    StartParams b;
    b.name = "vm2";
    b.mode = Mode::bridged;
    b.bridge = "br0";
    b.mtu = 9000;
    REQUIRE(save_state(path, {a, b}).ok());

    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(::access((path + ".tmp").c_str(), F_OK) != 0);

    const auto state = load_state(path);
    REQUIRE(state.ok());
    CHECK(state.value().rejected.empty());
    REQUIRE(state.value().attachments.size() == 2);
    CHECK(state.value().attachments[0].name == "vm1");
    CHECK(state.value().attachments[0].mac == "02:00:00:00:00:01");
    CHECK(state.value().attachments[0].owner->gid == 100);
    CHECK(state.value().attachments[1].bridge == "br0");
    CHECK(state.value().attachments[1].mtu == 9000);

    SECTION("saving again replaces the file") {
      REQUIRE(save_state(path, {}).ok());
      const auto empty = load_state(path);
      REQUIRE(empty.ok());
      CHECK(empty.value().attachments.empty());
    }
  }
  SECTION("a stale temp file from a crash mid-write does not block saving") {
    std::ofstream(path + ".tmp") << "partial";
    REQUIRE(save_state(path, {}).ok());
    CHECK(load_state(path).ok());
  }
  SECTION("a symlink is not followed") {
    const std::string target = dir.path() + "/elsewhere.json";
    std::ofstream(target) << R"({"version":1,"attachments":[{"name":"planted"}]})";
    REQUIRE(::symlink(target.c_str(), path.c_str()) == 0);
    const auto state = load_state(path);
    REQUIRE_FALSE(state.ok());
    CHECK(state.error().code == ELOOP);
  }
  SECTION("a corrupt file is an error, not an empty state") {
    std::ofstream(path) << "{\"version\":1,\"attachm";
    const auto state = load_state(path);
    REQUIRE_FALSE(state.ok());
    CHECK(state.error().code == EINVAL);
  }
  SECTION("a file over 4 MiB is refused") {
    std::ofstream(path) << std::string(4 * 1024 * 1024 + 1, ' ');
    const auto state = load_state(path);
    REQUIRE_FALSE(state.ok());
    CHECK(state.error().code == EFBIG);
  }
}

TEST_CASE("state.json's networks: read strictly, bad ones skipped with their reason, saved back",
          "[service][state_store]") {
  const auto state = parse_state(R"({"version":1,"attachments":[],"networks":[
    {"name":"lab","subnet":"10.70.0.0/24","dhcp":{"range":"10.70.0.100-10.70.0.150"}},
    {"name":"bad","mode":"bridged"},
    {"name":"fleet","uplink":{"vxlan":{"vni":0,"local":"10.0.0.1","remotes":["10.0.0.2"]}}}]})");
  REQUIRE(state.ok());
  REQUIRE(state.value().networks.size() == 1);
  CHECK(state.value().networks[0].name == "lab");
  REQUIRE(state.value().rejected.size() == 2);
  CHECK(state.value().rejected[0] == "network 1: mode: must be host or shared (the modes with networks of their own)");
  CHECK(state.value().rejected[1] == "network 2: uplink.vxlan.vni: must be an integer from 1 to 16777215");
  // Absent (older files): none; not an array: the file is refused.
  CHECK(parse_state(R"({"version":1,"attachments":[]})").value().networks.empty());
  CHECK_FALSE(parse_state(R"({"version":1,"attachments":[],"networks":{}})").ok());

  squib::test::TempDir dir;
  const std::string path = dir.path() + "/state.json";
  REQUIRE(squib::service::save_state(path, {}, state.value().networks).ok());
  const auto loaded = squib::service::load_state(path);
  REQUIRE(loaded.ok());
  REQUIRE(loaded.value().networks.size() == 1);
  CHECK(loaded.value().networks[0] == state.value().networks[0]);
}
