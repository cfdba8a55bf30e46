// Tests of the text the Linux modes hand to other programs and the kernel: the nft rule set
// (platform/linux/nft.hpp), dnsmasq's arguments (platform/linux/dnsmasq.hpp) and the
// interface names (IFNAMSIZ). The system tests in tests/system/linux_modes prove they work.

#include <squib/backend/tap_backend.hpp>
#include <squib/platform/linux/dnsmasq.hpp>
#include <squib/platform/linux/network_names.hpp>
#include <squib/platform/linux/nft.hpp>
#include <squib/platform/linux/tap_device.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/catch.hpp"

namespace {

using squib::core::Ipv4Subnet;

bool has(const std::vector<std::string>& args, const std::string& arg) {
  return std::find(args.begin(), args.end(), arg) != args.end();
}

}  // namespace

TEST_CASE("interface and table names are stable and fit IFNAMSIZ", "[platform]") {
  const std::string run = "/run/squib-net";
  const auto tap = squib::backend::tap_name(run, "a-very-long-attachment-name-that-is-64-characters-long-xxxxxxxxx");
  CHECK(tap.size() == squib::platform::k_max_ifname);
  CHECK(tap.starts_with("sq-"));
  CHECK(tap == squib::backend::tap_name(run, "a-very-long-attachment-name-that-is-64-characters-long-xxxxxxxxx"));
  CHECK(squib::backend::tap_name(run, "vm1") != squib::backend::tap_name(run, "vm2"));
  // Two daemons (run dirs) in one network namespace never share a name.
  CHECK(squib::backend::tap_name(run, "vm1") != squib::backend::tap_name("/tmp/other-run", "vm1"));
  CHECK(squib::platform::network_hash(run, "default") != squib::platform::network_hash("/tmp/other-run", "default"));
  const auto bridge = "sqbr-" + squib::platform::network_hash(run, "default");
  CHECK(bridge.size() == squib::platform::k_max_ifname);
  CHECK_FALSE(bridge.starts_with("sq-"));  // cleanup of TAPs never matches bridges by prefix
}

TEST_CASE("nft rule set: host forwards nothing, shared masquerades", "[platform]") {
  squib::platform::NetworkRules rules{"squib_0123456789",
                                      "sqbr-0123456789",
                                      squib::core::Ipv4Subnet::parse("192.168.105.0/24").value(),
                                      false,
                                      std::nullopt,
                                      false};
  SECTION("host") {
    const auto script = squib::platform::network_ruleset(rules);
    // Declared, deleted and recreated in one transaction: atomic replacement.
    CHECK(script.starts_with("table inet squib_0123456789\ndelete table inet squib_0123456789\n"));
    CHECK(script.find("iifname \"sqbr-0123456789\" drop") != std::string::npos);
    CHECK(script.find("oifname \"sqbr-0123456789\" drop") != std::string::npos);
    CHECK(script.find("masquerade") == std::string::npos);
  }
  SECTION("shared") {
    rules.masquerade = true;
    const auto script = squib::platform::network_ruleset(rules);
    CHECK(script.find(
              "ip saddr 192.168.105.0/24 ip daddr != 192.168.105.0/24 oifname != \"sqbr-0123456789\" masquerade") !=
          std::string::npos);
    CHECK(script.find("ct state established,related accept") != std::string::npos);
  }
}

TEST_CASE("nft rule set: IPv6 forwarded and masqueraded (NAT66) only in shared mode with masquerade6", "[platform]") {
  squib::platform::NetworkRules rules{"squib_0123456789",
                                      "sqbr-0123456789",
                                      squib::core::Ipv4Subnet::parse("192.168.105.0/24").value(),
                                      false,
                                      squib::core::Ipv6Prefix::parse("fd00:1:2:3::/64"),
                                      false};
  SECTION("host: nothing of IPv6 goes out") {
    const auto script = squib::platform::network_ruleset(rules);
    CHECK(script.find("ip6") == std::string::npos);
    CHECK(script.find("masquerade") == std::string::npos);
  }
  SECTION("shared without NAT66 (RA hazard): IPv4 only") {
    rules.masquerade = true;
    const auto script = squib::platform::network_ruleset(rules);
    CHECK(script.find("ip saddr 192.168.105.0/24 ip daddr != 192.168.105.0/24") != std::string::npos);
    CHECK(script.find("ip6") == std::string::npos);
  }
  SECTION("shared with NAT66") {
    rules.masquerade = true;
    rules.masquerade6 = true;
    const auto script = squib::platform::network_ruleset(rules);
    CHECK(script.find("    iifname \"sqbr-0123456789\" ip6 saddr fd00:1:2:3::/64 accept\n") != std::string::npos);
    CHECK(script.find("    oifname \"sqbr-0123456789\" ip6 daddr fd00:1:2:3::/64 ct state established,related "
                      "accept\n") != std::string::npos);
    CHECK(script.find("    ip6 saddr fd00:1:2:3::/64 ip6 daddr != fd00:1:2:3::/64 oifname != \"sqbr-0123456789\" "
                      "masquerade\n") != std::string::npos);
    // Both families in one srcnat chain, before the final drops of the forward chain.
    CHECK(script.find("chain postrouting") == script.rfind("chain postrouting"));
    CHECK(script.find("ip6 saddr fd00:1:2:3::/64 accept") < script.find("iifname \"sqbr-0123456789\" drop"));
  }
  SECTION("NAT66 asked on a host without IPv6: nothing") {
    rules.masquerade = true;
    rules.masquerade6 = true;
    rules.subnet6.reset();
    CHECK(squib::platform::network_ruleset(rules).find("ip6") == std::string::npos);
  }
}

TEST_CASE("nft table listing: only our inet tables", "[platform]") {
  const std::string listing =
      "table inet filter\ntable inet squib_0123456789\ntable ip squib_notours\ntable inet squib_aaaaaaaaaa\n";
  CHECK(squib::platform::our_tables(listing) == std::vector<std::string>{"squib_0123456789", "squib_aaaaaaaaaa"});
  CHECK(squib::platform::delete_table_script("squib_x") == "table inet squib_x\ndelete table inet squib_x\n");
}

TEST_CASE("dnsmasq arguments: DHCP and DNS on the bridge only, upstream DNS only in shared mode", "[platform]") {
  squib::platform::DnsmasqPlan plan{"sqbr-0123456789",
                                    squib::core::Ipv4Subnet::parse("192.168.105.0/24").value(),
                                    false,
                                    "/run/squib-net/net-x.hosts.d",
                                    "/run/squib-net/net-x.leases",
                                    "/run/squib-net/net-x.pid",
                                    std::nullopt,
                                    false};
  auto args = squib::platform::dnsmasq_arguments(plan);
  CHECK(has(args, "--keep-in-foreground"));
  CHECK(has(args, "--conf-file=/dev/null"));
  CHECK(has(args, "--bind-interfaces"));
  CHECK(has(args, "--interface=sqbr-0123456789"));
  CHECK(has(args, "--except-interface=lo"));
  CHECK(has(args, "--dhcp-range=192.168.105.2,192.168.105.254,255.255.255.0,12h"));
  CHECK(has(args, "--dhcp-hostsdir=/run/squib-net/net-x.hosts.d"));
  CHECK(has(args, "--pid-file=/run/squib-net/net-x.pid"));
  CHECK(has(args, "--log-facility=-"));
  // DNS names in both modes, authoritative for the domain; host mode has no upstream.
  plan.domain = "lab.test";
  plan.names_path = "/run/squib-net/net-x.names.d";
  args = squib::platform::dnsmasq_arguments(plan);
  CHECK_FALSE(has(args, "--port=0"));
  CHECK(has(args, "--hostsdir=/run/squib-net/net-x.names.d"));
  CHECK(has(args, "--domain=lab.test"));
  CHECK(has(args, "--local=/lab.test/"));
  CHECK(has(args, "--dhcp-option=option:dns-server,192.168.105.1"));
  CHECK(has(args, "--no-resolv"));
  CHECK_FALSE(has(args, "--resolv-file=/etc/resolv.conf"));
  plan.upstream_dns = true;
  args = squib::platform::dnsmasq_arguments(plan);
  CHECK_FALSE(has(args, "--no-resolv"));
  CHECK(has(args, "--resolv-file=/etc/resolv.conf"));
  CHECK(has(args, "--local=/lab.test/"));
  CHECK(has(args, "--dhcp-option=option:dns-server,192.168.105.1"));
  CHECK_FALSE(has(args, "--enable-ra"));  // no subnet6: IPv4 only
}

TEST_CASE("dnsmasq arguments: router advertisements and stateless DHCPv6 for the /64", "[platform]") {
  squib::platform::DnsmasqPlan plan{"sqbr-0123456789",
                                    squib::core::Ipv4Subnet::parse("192.168.105.0/24").value(),
                                    false,
                                    "/run/squib-net/net-x.hosts.d",
                                    "/run/squib-net/net-x.leases",
                                    "/run/squib-net/net-x.pid",
                                    squib::core::Ipv6Prefix::parse("fd00:1:2:3::/64"),
                                    false};
  auto args = squib::platform::dnsmasq_arguments(plan);
  CHECK(has(args, "--enable-ra"));
  CHECK(has(args, "--dhcp-range=fd00:1:2:3::,ra-stateless,64,12h"));
  // Not a default router (host mode, or shared without NAT66): router lifetime 0.
  CHECK(has(args, "--ra-param=sqbr-0123456789,0,0"));
  // The IPv4 DHCP service is unchanged.
  CHECK(has(args, "--dhcp-range=192.168.105.2,192.168.105.254,255.255.255.0,12h"));
  plan.default_router6 = true;
  args = squib::platform::dnsmasq_arguments(plan);
  CHECK(has(args, "--enable-ra"));
  CHECK(std::none_of(args.begin(), args.end(), [](const std::string& arg) { return arg.starts_with("--ra-param"); }));
}

TEST_CASE("dnsmasq names: one hosts file per attachment, A and AAAA, replaced atomically, removed", "[platform]") {
  char made[] = "/tmp/squib-names-XXXXXX";
  REQUIRE(::mkdtemp(made) != nullptr);
  const std::string dir = made;
  const auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  {
    squib::platform::DnsmasqPlan plan{"sqbr-0123456789",
                                      squib::core::Ipv4Subnet::parse("192.168.105.0/24").value(),
                                      false,
                                      dir + "/net-x.hosts.d",
                                      dir + "/net-x.leases",
                                      dir + "/net-x.pid",
                                      std::nullopt,
                                      false};
    plan.domain = "lab.test";
    plan.names_path = dir + "/net-x.names.d";
    REQUIRE(::mkdir(plan.names_path.c_str(), 0755) == 0);
    squib::platform::Dnsmasq dnsmasq(&loop, "n", "", plan);
    dnsmasq.add_name("web", 0xc0a86917, "");
    CHECK(read(plan.names_path + "/web") == "192.168.105.23 web.lab.test\n");
    dnsmasq.add_name("web", 0xc0a86918, "fd00:1:2:3::18");  // replaced whole (rename)
    CHECK(read(plan.names_path + "/web") == "192.168.105.24 web.lab.test\nfd00:1:2:3::18 web.lab.test\n");
    CHECK_FALSE(std::filesystem::exists(plan.names_path + ".tmp"));
    dnsmasq.remove_name("web");
    CHECK_FALSE(std::filesystem::exists(plan.names_path + "/web"));
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("dnsmasq arguments: a declared network's DHCP slice, no DHCP, and its MTU as option 26", "[platform]") {
  squib::platform::DnsmasqPlan plan{"sqbr-0123456789",
                                    squib::core::Ipv4Subnet::parse("10.70.0.0/24").value(),
                                    false,
                                    "/run/squib-net/net-x.hosts.d",
                                    "/run/squib-net/net-x.leases",
                                    "/run/squib-net/net-x.pid",
                                    std::nullopt,
                                    false};
  CHECK_FALSE(has(squib::platform::dnsmasq_arguments(plan), "--dhcp-option-force=option:mtu,1500"));
  plan.dhcp_first = squib::core::parse_ipv4("10.70.0.100").value();
  plan.dhcp_last = squib::core::parse_ipv4("10.70.0.150").value();
  plan.mtu = 1400;
  auto args = squib::platform::dnsmasq_arguments(plan);
  CHECK(has(args, "--dhcp-range=10.70.0.100,10.70.0.150,255.255.255.0,12h"));
  CHECK(has(args, "--dhcp-option-force=option:mtu,1400"));
  plan.dhcp = false;
  args = squib::platform::dnsmasq_arguments(plan);
  for (const auto& arg : args) CHECK_FALSE(arg.starts_with("--dhcp-range="));
}
