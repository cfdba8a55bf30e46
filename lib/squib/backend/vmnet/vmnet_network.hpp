#pragma once

// VmnetNetwork: a named vmnet network (macOS 26 vmnet_network_* API, Apple vmnet.h) that
// several attachments join with vmnet_interface_start_with_network, so they share one subnet
// and its DHCP service (design brief §3 `network`). Created once per network name by the
// daemon, held by every VmnetBackend that joined it (shared_ptr), released with CFRelease
// when the last one goes.
//
// Status: the macOS 26 code path is compiled only where __APPLE__ and a macOS 26 SDK are
// present; this project has not compiled or run it yet (docs/macos.md). Elsewhere —
// including the Linux contract fake, which does not model these calls — available() is
// false and create() fails with ENOTSUP, and callers fall back to vmnet_start_interface
// with start/end address and mask (VmnetOptions).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <squib/backend/vmnet/vmnet_backend.hpp>
#include <squib/core/mac_address.hpp>
#include <squib/core/result.hpp>

namespace squib::backend {

struct VmnetDhcpReservation {
  core::MacAddress mac;  // the attachment's MAC
  std::string address;   // dotted quad inside the subnet
};

struct VmnetPortForward {
  std::uint8_t protocol = 6;     // IPPROTO_TCP (6) or IPPROTO_UDP (17)
  std::uint16_t external_port = 0;
  std::uint16_t internal_port = 0;
  std::string internal_address;  // the guest's IPv4 address
};

struct VmnetNetworkOptions {
  std::string name;
  VmnetMode mode = VmnetMode::shared;  // shared or host (bridged has no network object)
  // Optional subnet: the network address and mask, dotted quads. vmnet reserves the first,
  // second (host) and last addresses (Apple: vmnet_network_configuration_set_ipv4_subnet).
  std::string subnet_address;
  std::string subnet_mask;
  std::uint32_t mtu = 0;  // 0: vmnet's default
  std::vector<VmnetDhcpReservation> reservations;  // stable addresses per MAC
  std::vector<VmnetPortForward> port_forwards;
};

class VmnetNetwork {
public:
  // True when built with a macOS 26 SDK and running on macOS 26 or later.
  static bool available();
  static core::Result<std::shared_ptr<VmnetNetwork>> create(const VmnetNetworkOptions& options);

  ~VmnetNetwork();
  VmnetNetwork(const VmnetNetwork&) = delete;
  VmnetNetwork& operator=(const VmnetNetwork&) = delete;

  [[nodiscard]] const std::string& name() const { return m_name; }
  // The vmnet_network_ref, untyped so this header names no Apple type.
  [[nodiscard]] void* native_handle() const { return m_ref; }

private:
  VmnetNetwork(std::string name, void* ref) : m_name(std::move(name)), m_ref(ref) {}

  std::string m_name;
  void* m_ref = nullptr;
};

}  // namespace squib::backend
