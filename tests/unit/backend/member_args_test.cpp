// Tests of squib/backend/member_args.hpp: the userspace.args a control-group member may pass
// to a child that the root daemon starts. Every refused spelling here is one that would let a
// member make passt or gvproxy write a file, listen, run as another user or leave its own VM.

#include <squib/backend/member_args.hpp>

#include <string>
#include <vector>

#include "support/catch.hpp"

using squib::backend::member_args_problem;
using Args = std::vector<std::string>;

TEST_CASE("member_args_problem: passt's allow-list admits only flags that narrow the member's own guest", "[backend]") {
  CHECK_FALSE(member_args_problem("passt", {}));
  CHECK_FALSE(member_args_problem("gvproxy", {}));
  CHECK_FALSE(member_args_problem("passt", Args{"--quiet", "--no-dhcpv6", "--no-ra", "-4", "--no-map-gw"}));
  CHECK_FALSE(member_args_problem("passt", Args{"--address", "10.0.2.15", "-n", "24", "-g", "10.0.2.2"}));
  CHECK_FALSE(member_args_problem("passt", Args{"--netmask", "255.255.255.0", "--dns", "fd00::3"}));
}

TEST_CASE("member_args_problem: paths, users, listeners, interfaces and other spellings are refused by name",
          "[backend]") {
  const auto refused = [](const Args& args) { return member_args_problem("passt", args).value_or("(allowed)"); };
  CHECK(refused({"--log-file", "/root/x.log"}) ==
        "'--log-file' is not on the members' allow-list for passt (root may pass it); see docs/security.md");
  for (const char* option :
       {"-l",      "--pcap",      "-p", "--pid",      "-P", "--socket",       "-s",          "--fd", "-F",
        "--runas", "--interface", "-i", "--outbound", "-o", "--outbound-if4", "--tcp-ports", "-t",   "--udp-ports",
        "-u",      "-T",          "-U", "--debug",    "-d", "--trace",        "--mtu",       "-m"}) {
    INFO(option);
    CHECK(refused({option, "x"}).starts_with(std::string("'") + option + "' is not on the members' allow-list"));
  }
  // getopt's other spellings of allowed options are not on the list either.
  CHECK(refused({"--address=10.0.2.15"}).starts_with("'--address=10.0.2.15' is not on"));
  CHECK(refused({"-a10.0.2.15"}).starts_with("'-a10.0.2.15' is not on"));
  CHECK(refused({"-46"}).starts_with("'-46' is not on"));
  // A refused option after allowed ones is still found.
  CHECK(refused({"--quiet", "--log-file", "/tmp/x"}).starts_with("'--log-file' is not on"));
}

TEST_CASE("member_args_problem: values of allowed options must be literal addresses or netmasks", "[backend]") {
  const auto refused = [](const Args& args) { return member_args_problem("passt", args).value_or("(allowed)"); };
  CHECK(refused({"--address"}) == "'--address' needs a value");
  CHECK(refused({"--address", "/root/x"}) == "'--address /root/x': the value must be a literal IP address");
  CHECK(refused({"-g", "--log-file"}) == "'-g --log-file': the value must be a literal IP address");
  CHECK(refused({"-n", "33"}) == "'-n 33': the value must be a netmask (dot-decimal or 0-32)");
  CHECK(refused({"-n", "24x"}) == "'-n 24x': the value must be a netmask (dot-decimal or 0-32)");
}

TEST_CASE("member_args_problem: members may pass nothing to gvproxy or custom children", "[backend]") {
  CHECK(member_args_problem("gvproxy", Args{"-debug"}).value_or("") ==
        "'-debug': members may not pass arguments to gvproxy children (root may); see docs/security.md");
  CHECK(member_args_problem("gvproxy", Args{"-log-file", "/root/x"}).has_value());
  CHECK(member_args_problem("custom", Args{"x"}).has_value());
}
