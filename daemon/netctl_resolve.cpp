// squib-netctl resolve NAME: what the network's DNS answers for an attachment's name
// (`resolve`, proto/resolve_messages.hpp), as one line "FQDN ADDRESS [ADDRESS6]", so that
// scripts can take it without --json.

#include <squib/proto/resolve_messages.hpp>

#include "netctl_commands.hpp"

namespace squib::netctl {

int resolve_command(const Options& options, const std::string& name) {
  json result;
  if (const int rc = call(options, "resolve", proto::to_json(proto::ResolveParams{name}), result); rc != k_exit_ok) {
    return rc;
  }
  if (options.json_output) {
    std::cout << result.dump(2) << "\n";
    return k_exit_ok;
  }
  proto::ResolveResult resolved;
  if (const int rc = read_result("resolve", result, resolved); rc != k_exit_ok) return rc;
  std::cout << resolved.fqdn << " " << resolved.address;
  if (resolved.address6) std::cout << " " << *resolved.address6;
  std::cout << "\n";
  return k_exit_ok;
}

}  // namespace squib::netctl
