// squib-netctl metrics: prints the text exposition exactly as the daemon rendered it, so
// `squib-netctl metrics > file.prom` is what --metrics-textfile would write (for this
// caller's attachments).

#include <squib/proto/observability.hpp>

#include "netctl_commands.hpp"

namespace squib::netctl {

int metrics_command(const Options& options) {
  json result;
  if (const int rc = call(options, "metrics", json::object(), result); rc != k_exit_ok) return rc;
  if (options.json_output) {
    std::cout << result.dump(2) << "\n";
    return k_exit_ok;
  }
  proto::MetricsResult metrics;
  if (const int rc = read_result("metrics", result, metrics); rc != k_exit_ok) return rc;
  std::cout << metrics.text;
  return k_exit_ok;
}

}  // namespace squib::netctl
