#include <squib/backend/userspace_preset.hpp>

namespace squib::backend {

UserspaceLaunchPlan plan_userspace_launch(const UserspaceConfig& config, const std::string& name, std::size_t mtu) {
  UserspaceLaunchPlan plan;
  const std::string fd = std::to_string(k_child_link_fd);
  if (config.kind == "passt") {
    // passt(1): -f stay in the foreground (we supervise it); --fd: the connected socket on
    // this fd (implies --one-off: passt exits when our end closes, so it cannot outlive the
    // daemon); --mtu: advertised to the guest by DHCP option 26.
    plan.inherits_fd = true;
    // --pid: passt writes it after its configuration and port binding, just before its main
    // loop: the readiness signal (userspace_backend.hpp).
    plan.pid_path = config.link_dir + "/passt/" + name + ".pid";
    plan.args = {"--foreground", "--fd", fd, "--mtu", std::to_string(mtu), "--pid", plan.pid_path};
    // passt(1) forwarding spec: [ADDRESS/]PORT[:TARGET]; without -t/-u nothing is forwarded.
    for (const auto& forward : config.forwards) {
      plan.args.push_back(forward.protocol == "udp" ? "--udp-ports" : "--tcp-ports");
      plan.args.push_back(forward.host_address + "/" + std::to_string(forward.host_port) + ":" +
                          std::to_string(forward.guest_port));
    }
  } else if (config.kind == "gvproxy") {
    // gvisor-tap-vsock cmd/gvproxy: it only listens on paths. -ssh-port -1 disables its
    // default host port 2222 forward; -listen gives the services API for port forwards.
    const std::string base = config.link_dir + "/" + name + ".gvproxy";
    plan.listen_path = base + ".sock";
    plan.api_path = base + "-api.sock";
    if (config.framing == LinkFraming::vfkit_datagram) {
      plan.args = {"-listen-vfkit", "unixgram://" + plan.listen_path};
    } else {
      plan.args = {"-listen-qemu", "unix://" + plan.listen_path};
    }
    plan.args.insert(plan.args.end(),
                     {"-mtu", std::to_string(mtu), "-ssh-port", "-1", "-listen", "unix://" + plan.api_path});
  } else {
    plan.inherits_fd = true;
    for (const auto& arg : config.extra_args) plan.args.push_back(arg == "{fd}" ? fd : arg);
    return plan;
  }
  plan.args.insert(plan.args.end(), config.extra_args.begin(), config.extra_args.end());
  return plan;
}

}  // namespace squib::backend
