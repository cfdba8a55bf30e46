// Tests of squib/platform/linux/ip_forwarding.hpp on a file standing in for
// /proc/sys/net/ipv4/ip_forward: the first shared network turns it on, the last one puts
// back what was there, and a value that was already on is never turned off.

#include <squib/platform/linux/ip_forwarding.hpp>

#include <fstream>
#include <string>

#include "support/catch.hpp"
#include "support/temp_dir.hpp"

namespace {

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

TEST_CASE("IpForwarding turns forwarding on while shared networks exist", "[platform]") {
  squib::test::TempDir dir;
  const std::string path = dir.file("ip_forward");

  SECTION("off before: on for the first, restored after the last") {
    write(path, "0\n");
    squib::platform::IpForwarding forwarding(path);
    forwarding.network_added();
    CHECK(read(path) == "1");
    forwarding.network_added();
    forwarding.network_removed();
    CHECK(read(path) == "1");  // one shared network is still there
    forwarding.network_removed();
    CHECK(read(path) == "0");
    forwarding.network_removed();  // one too many: nothing happens
    CHECK(read(path) == "0");
  }
  SECTION("on before: left on") {
    write(path, "1\n");
    squib::platform::IpForwarding forwarding(path);
    forwarding.network_added();
    forwarding.network_removed();
    CHECK(read(path) == "1");
  }
}
