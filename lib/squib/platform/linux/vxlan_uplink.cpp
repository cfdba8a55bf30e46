// STUB on main: replaced by the VXLAN helper's implementation (issue 15). Every call fails
// with ENOSYS so that callers can be built and tested for their error path meanwhile.
#include <squib/platform/linux/vxlan_uplink.hpp>

#include <cerrno>

namespace squib::platform {

core::Result<VxlanUplinkState> create_vxlan_uplink(Netlink& netlink, const std::string& device,
                                                   const std::string& bridge, const proto::VxlanUplink& spec,
                                                   std::optional<std::uint32_t> asked_mtu, std::uint32_t gateway) {
  (void)netlink, (void)device, (void)bridge, (void)spec, (void)asked_mtu, (void)gateway;
  return core::Error{ENOSYS, "uplink: VXLAN uplinks are not built yet"};
}

std::array<std::uint8_t, 6> anycast_gateway_mac(std::uint32_t vni, std::uint32_t gateway) {
  (void)vni, (void)gateway;
  return {0x02, 0, 0, 0, 0, 1};
}

std::string uplink_policy_script(const std::string& table, const std::string& device) {
  (void)device;
  return "add table bridge " + table + "\n";
}

}  // namespace squib::platform
