#pragma once

// join_bridge_as_vm_port: enslaves a VM's TAP to a bridge the way every VM port of ours is
// set up (relayed and handed-off TAPs alike):
// - the bridge must exist and be a bridge (ENODEV otherwise);
// - the port's MAC table entry is static: an FDB entry for the VM's MAC (the only source MAC
//   the anti-spoofing guard lets through) pins it to this port, learning is off and
//   unknown-unicast flooding to the port is off — libvirt's macTableManager="libvirt". So a
//   stream to a VM whose entry would have aged out (a receiver that sends nothing for the
//   bridge's ageing time, 300 s) is still delivered to that VM alone instead of being
//   flooded to every VM of the network, each copy read (and dropped) by the daemon or the
//   VMM. Broadcast and multicast (ARP, DHCP) still reach every port.
// Isolation is not the port's: an isolated attachment's nft table drops and counts it
// (platform/linux/tap_policy.hpp).
// Control path: a few rtnetlink requests on the caller's socket.

#include <string>

#include <squib/core/mac_address.hpp>
#include <squib/core/result.hpp>
#include <squib/platform/linux/netlink.hpp>

namespace squib::platform {

core::Result<void> join_bridge_as_vm_port(Netlink& netlink, const std::string& ifname, const std::string& bridge,
                                          const core::MacAddress& mac);

}  // namespace squib::platform
