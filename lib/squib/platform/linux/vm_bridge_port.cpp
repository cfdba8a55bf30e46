#include <squib/platform/linux/vm_bridge_port.hpp>

#include <cerrno>

namespace squib::platform {

using core::Error;
using core::Result;

Result<void> join_bridge_as_vm_port(Netlink& netlink, const std::string& ifname, const std::string& bridge,
                                    const core::MacAddress& mac) {
  auto master = netlink.find_link(bridge);
  if (!master) return master.error();
  if (!master.value() || master.value()->kind != "bridge") {
    return Error{ENODEV, "bridge " + bridge + " does not exist or is not a bridge"};
  }
  LinkChange enslave;
  enslave.master = master.value()->index;
  if (auto set = netlink.set_link(ifname, enslave); !set) return set.error();
  BridgePortChange port;
  port.learning = false;
  port.unicast_flood = false;
  if (auto set = netlink.set_bridge_port(ifname, port); !set) return set.error();
  return netlink.add_static_fdb_entry(ifname, mac.bytes());
}

}  // namespace squib::platform
