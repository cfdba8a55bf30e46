#include <squib/platform/linux/tap_policy.hpp>

#include <sstream>

#include <cstdio>

#include <squib/core/fnv1a.hpp>
#include <squib/core/ipv4_subnet.hpp>
#include <squib/core/stats.hpp>

namespace squib::platform {

namespace {

using core::DropReason;

std::string counter(DropReason reason) { return "counter name \"" + std::string(core::to_string(reason)) + "\" drop"; }

// `add table` (with the owner's comment on creation) and `flush table`: the start of a
// script that creates or re-applies a table, keeping its named counters.
void put_table_head(std::ostringstream& out, const std::string& table, const std::string& owner) {
  // The comment goes with the table's creation: an existing table's comment is not updated
  // (nf_tables_updtable ignores it), and it is the same owner's anyway.
  out << "add table " << table;
  if (!owner.empty()) out << " { comment \"" << owner << "\"; }";
  out << "\n"
      << "flush table " << table << "\n";
}

// Chain isolation (see tap_policy.hpp): frames the bridge forwards from or to `ifname`.
void put_isolation_chain(std::ostringstream& out, const std::string& ifname) {
  out << "  chain isolation {\n"
      << "    type filter hook forward priority -200; policy accept;\n"
      << "    iifname \"" << ifname << "\" " << counter(DropReason::isolated) << "\n"
      << "    oifname \"" << ifname << "\" " << counter(DropReason::isolated) << "\n"
      << "  }\n";
}

// The guest's own IPv6 addresses: its link-local (from the MAC) and address6 when known.
std::vector<core::Ipv6Address> own_ipv6(const TapPolicy& policy) {
  std::vector<core::Ipv6Address> out{core::link_local_for(policy.mac)};
  if (policy.ipv6) out.push_back(*policy.ipv6);
  return out;
}

// "{ fe80::…, fd…:… }": a set of addresses for ip6 saddr.
std::string address_set(const std::vector<core::Ipv6Address>& addresses) {
  std::string out = "{ ";
  for (std::size_t i = 0; i < addresses.size(); ++i) out += (i ? ", " : "") + core::ipv6_to_string(addresses[i]);
  return out + " }";
}

// The same as raw 128-bit integers ("{ 0xfe80…, … }"), for a raw payload match (`@th,64,128`:
// an ND message's target, RFC 4861 §4.3/§4.4, 8 bytes into the ICMPv6 header).
std::string raw_set(const std::vector<core::Ipv6Address>& addresses) {
  std::string out = "{ ";
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    out += i ? ", 0x" : "0x";
    for (const auto byte : addresses[i]) {
      char hex[3];
      std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned>(byte));
      out += hex;
    }
  }
  return out + " }";
}

}  // namespace

std::string tap_policy_table(const std::string& ifname) {
  const std::string hash = ifname.starts_with("sq-") ? ifname.substr(3) : ifname;
  return std::string(k_tap_table_prefix) + hash;
}

std::string tap_policy_script(const TapPolicy& policy) {
  const std::string table = "bridge " + policy.table;
  const std::string mac = policy.mac.to_string();
  std::ostringstream out;
  put_table_head(out, table, policy.owner);
  out << "table " << table << " {\n";
  for (const auto reason : {DropReason::spoofed_mac, DropReason::spoofed_ip, DropReason::dhcp_server,
                            DropReason::router_advertisement, DropReason::isolated}) {
    out << "  counter " << core::to_string(reason) << " { }\n";
  }
  out << "  chain from_vm {\n"
      << "    type filter hook prerouting priority -200; policy accept;\n"
      << "    iifname != \"" << policy.ifname << "\" accept\n"
      << "    ether saddr != " << mac << " " << counter(DropReason::spoofed_mac) << "\n"
      << "    ether type arp arp saddr ether != " << mac << " " << counter(DropReason::spoofed_mac) << "\n";
  if (policy.ipv4) {
    out << "    ether type { 8021q, 8021ad, 0x9100 } " << counter(DropReason::spoofed_ip) << "\n";
  }
  if (policy.ipv4 && policy.check_ip) {
    const std::string ip = core::ipv4_to_string(*policy.ipv4);
    const auto own = own_ipv6(policy);
    out << "    ether type arp arp saddr ip != { 0.0.0.0, " << ip << " } " << counter(DropReason::spoofed_ip) << "\n"
        << "    ether type ip ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept\n"
        << "    ether type ip ip saddr != " << ip << " " << counter(DropReason::spoofed_ip) << "\n"
        << "    ether type ip6 ip6 saddr :: icmpv6 type { nd-router-solicit, mld-listener-report, "
           "mld2-listener-report } accept\n"
        << "    ether type ip6 ip6 saddr :: icmpv6 type nd-neighbor-solicit @th,64,128 " << raw_set(own) << " accept\n"
        << "    ether type ip6 ip6 saddr != " << address_set(own) << " " << counter(DropReason::spoofed_ip) << "\n"
        << "    ether type ip6 icmpv6 type nd-neighbor-advert @th,64,128 != " << raw_set(own) << " "
        << counter(DropReason::spoofed_ip) << "\n";
  }
  out << "    ether type ip udp sport 67 " << counter(DropReason::dhcp_server) << "\n"
      << "    ether type ip6 udp sport 547 " << counter(DropReason::dhcp_server) << "\n"
      << "    ether type ip6 icmpv6 type nd-router-advert " << counter(DropReason::router_advertisement) << "\n"
      << "  }\n";
  if (policy.isolated) put_isolation_chain(out, policy.ifname);
  out << "}\n";
  return out.str();
}

std::string tap_isolation_script(const TapPolicy& policy) {
  const std::string table = "bridge " + policy.table;
  std::ostringstream out;
  put_table_head(out, table, policy.owner);
  out << "table " << table << " {\n"
      << "  counter " << core::to_string(DropReason::isolated) << " { }\n";
  put_isolation_chain(out, policy.ifname);
  out << "}\n";
  return out.str();
}

std::string tap_policy_owner(const std::string& run_dir) {
  char out[32];
  std::snprintf(out, sizeof out, "squib-netd %016llx", static_cast<unsigned long long>(core::fnv1a64(run_dir)));
  return out;
}

std::vector<std::string> tap_policy_tables(const std::string& list_output) {
  std::vector<std::string> out;
  std::istringstream lines(list_output);
  std::string word_table, family, name;
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    if (words >> word_table >> family >> name && word_table == "table" && family == "bridge" &&
        name.starts_with(k_tap_table_prefix)) {
      out.push_back(name);
    }
  }
  return out;
}

bool tap_policy_owned_by(const std::string& table_listing, const std::string& owner) {
  return table_listing.find("comment \"" + owner + "\"") != std::string::npos;
}

std::string tap_policy_ifname(const std::string& table) {
  return "sq-" + (table.starts_with(k_tap_table_prefix) ? table.substr(k_tap_table_prefix.size()) : table);
}

std::string tap_policy_delete_script(const std::string& table) {
  // Declare-then-delete: nft 1.0.6 has no `destroy` (as nft.hpp's delete_table_script).
  return "add table bridge " + table + "\ndelete table bridge " + table + "\n";
}

}  // namespace squib::platform
