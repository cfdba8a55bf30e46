#include <squib/backend/vmnet/vmnet_network.hpp>

#include <cerrno>

#if defined(__APPLE__)
#include <Availability.h>
#if __MAC_OS_X_VERSION_MAX_ALLOWED >= 260000
#define SQUIB_HAVE_VMNET_NETWORK 1
#endif
#endif

#if defined(SQUIB_HAVE_VMNET_NETWORK)
#include <CoreFoundation/CoreFoundation.h>
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <vmnet/vmnet.h>
#endif

namespace squib::backend {

#if defined(SQUIB_HAVE_VMNET_NETWORK)

// Compiled only with a macOS 26 SDK; never compiled or run by this project yet.

bool VmnetNetwork::available() {
  if (__builtin_available(macOS 26.0, *)) return true;
  return false;
}

core::Result<std::shared_ptr<VmnetNetwork>> VmnetNetwork::create(const VmnetNetworkOptions& options) {
  if (__builtin_available(macOS 26.0, *)) {
    if (options.mode == VmnetMode::bridged) return core::Error{EINVAL, "a vmnet network is shared or host mode"};
    const operating_modes_t mode = options.mode == VmnetMode::host ? VMNET_HOST_MODE : VMNET_SHARED_MODE;
    vmnet_return_t status = VMNET_FAILURE;
    vmnet_network_configuration_ref config = vmnet_network_configuration_create(mode, &status);
    if (config == nullptr) {
      return core::Error{EIO, "vmnet_network_configuration_create: " + std::string(vmnet_strerror(status))};
    }
    auto fail = [&](std::string what, vmnet_return_t s) -> core::Result<std::shared_ptr<VmnetNetwork>> {
      CFRelease(config);
      return core::Error{s == VMNET_INVALID_ARGUMENT ? EINVAL : EIO, what + ": " + std::string(vmnet_strerror(s))};
    };
    if (!options.subnet_address.empty()) {
      in_addr subnet{};
      in_addr mask{};
      if (inet_pton(AF_INET, options.subnet_address.c_str(), &subnet) != 1 ||
          inet_pton(AF_INET, options.subnet_mask.c_str(), &mask) != 1) {
        return fail("subnet", VMNET_INVALID_ARGUMENT);
      }
      status = vmnet_network_configuration_set_ipv4_subnet(config, &subnet, &mask);
      if (status != VMNET_SUCCESS) return fail("vmnet_network_configuration_set_ipv4_subnet", status);
    }
    if (options.mtu != 0) {
      status = vmnet_network_configuration_set_mtu(config, options.mtu);
      if (status != VMNET_SUCCESS) return fail("vmnet_network_configuration_set_mtu", status);
    }
    for (const VmnetDhcpReservation& reservation : options.reservations) {
      ether_addr_t mac{};
      for (std::size_t i = 0; i < core::MacAddress::k_size; ++i) mac.octet[i] = reservation.mac.bytes()[i];
      in_addr address{};
      if (inet_pton(AF_INET, reservation.address.c_str(), &address) != 1) {
        return fail("dhcp reservation address", VMNET_INVALID_ARGUMENT);
      }
      status = vmnet_network_configuration_add_dhcp_reservation(config, &mac, &address);
      if (status != VMNET_SUCCESS) return fail("vmnet_network_configuration_add_dhcp_reservation", status);
    }
    for (const VmnetPortForward& forward : options.port_forwards) {
      in_addr address{};
      if (inet_pton(AF_INET, forward.internal_address.c_str(), &address) != 1) {
        return fail("port forward address", VMNET_INVALID_ARGUMENT);
      }
      status = vmnet_network_configuration_add_port_forwarding_rule(
          config, forward.protocol, AF_INET, forward.internal_port, forward.external_port, &address);
      if (status != VMNET_SUCCESS) return fail("vmnet_network_configuration_add_port_forwarding_rule", status);
    }
    vmnet_network_ref network = vmnet_network_create(config, &status);
    CFRelease(config);
    if (network == nullptr) {
      return core::Error{EIO, "vmnet_network_create: " + std::string(vmnet_strerror(status))};
    }
    return std::shared_ptr<VmnetNetwork>(new VmnetNetwork(options.name, const_cast<void*>(static_cast<const void*>(network))));
  }
  return core::Error{ENOTSUP, "vmnet networks need macOS 26"};
}

VmnetNetwork::~VmnetNetwork() {
  if (m_ref != nullptr) CFRelease(m_ref);
}

#else

bool VmnetNetwork::available() { return false; }

core::Result<std::shared_ptr<VmnetNetwork>> VmnetNetwork::create(const VmnetNetworkOptions& options) {
  return core::Error{ENOTSUP, "vmnet network '" + options.name + "' needs macOS 26 and a macOS 26 SDK"};
}

VmnetNetwork::~VmnetNetwork() = default;

#endif

}  // namespace squib::backend
