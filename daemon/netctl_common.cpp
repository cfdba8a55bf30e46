#include "netctl_common.hpp"

#include <squib/proto/client.hpp>

namespace squib::netctl {

int unreachable(const Options& options, const std::string& message) {
  if (options.json_output) {
    std::cout << json{{"error", {{"code", nullptr}, {"message", message}, {"exit", k_exit_unreachable}}}}.dump(2)
              << "\n";
  }
  std::cerr << "squib-netctl: " << message << "\n";
  return k_exit_unreachable;
}

int call(const Options& options, const std::string& method, const json& params, json& result, int* passed_fd) {
  auto client = proto::ControlClient::connect(options.control);
  if (!client)
    return unreachable(options, "cannot reach squib-netd at " + options.control + ": " + client.error().message);
  auto response = client->call(method, params);
  if (!response) return unreachable(options, response.error().message);
  if (!response->ok()) {
    if (options.json_output) {
      std::cout << json{{"error",
                         {{"code", response->error_code},
                          {"message", response->error_message},
                          {"exit", k_exit_daemon_error}}}}
                       .dump(2)
                << "\n";
    }
    std::cerr << "squib-netctl: " << method << ": " << response->error_message << " (code " << response->error_code
              << ")\n";
    return k_exit_daemon_error;
  }
  result = *response->result;
  if (passed_fd != nullptr) *passed_fd = client->take_received_fd();
  return k_exit_ok;
}

}  // namespace squib::netctl
