#include <squib/backend/vmnet/vmnet_descriptor.hpp>

#include <squib/backend/vmnet/vmnet_network.hpp>

#include <vmnet/vmnet.h>

#include <cerrno>
#include <string>
#include <utility>

namespace squib::backend {

namespace {

operating_modes_t operating_mode(VmnetMode mode) {
  switch (mode) {
    case VmnetMode::shared: return VMNET_SHARED_MODE;
    case VmnetMode::host: return VMNET_HOST_MODE;
    case VmnetMode::bridged: return VMNET_BRIDGED_MODE;
  }
  return VMNET_SHARED_MODE;
}

bool has_range(const VmnetOptions& options) {
  return !options.start_address.empty() && !options.end_address.empty() && !options.subnet_mask.empty();
}

// vmnet_enable_tso_key (macOS 11.0), vmnet_enable_checksum_offload_key (macOS 12.0) and
// vmnet_enable_virtio_header_key (macOS 15.4), when asked for [vmnet-facts.md §2]. Each needs
// an SDK that declares it and a macOS that has it; else ENOTSUP.
core::Result<void> set_offloads(xpc_object_t desc, const VmnetOffloads& offloads) {
  if (offloads.tso) {
#if SQUIB_VMNET_SDK(110000)
    if (__builtin_available(macOS 11.0, *)) {
      xpc_dictionary_set_bool(desc, vmnet_enable_tso_key, true);
    } else {
      return core::Error{ENOTSUP, "TSO needs macOS 11"};
    }
#else
    return core::Error{ENOTSUP, "TSO needs a macOS 11 SDK"};
#endif
  }
  if (offloads.checksum) {
#if SQUIB_VMNET_SDK(120000)
    if (__builtin_available(macOS 12.0, *)) {
      xpc_dictionary_set_bool(desc, vmnet_enable_checksum_offload_key, true);
    } else {
      return core::Error{ENOTSUP, "checksum offload needs macOS 12"};
    }
#else
    return core::Error{ENOTSUP, "checksum offload needs a macOS 12 SDK"};
#endif
  }
  if (offloads.virtio_header) {
#if SQUIB_VMNET_SDK(150400)
    if (__builtin_available(macOS 15.4, *)) {
      xpc_dictionary_set_bool(desc, vmnet_enable_virtio_header_key, true);
    } else {
      return core::Error{ENOTSUP, "virtio headers need macOS 15.4"};
    }
#else
    return core::Error{ENOTSUP, "virtio headers need a macOS 15.4 SDK"};
#endif
  }
  return {};
}

}  // namespace

VmnetCapabilities vmnet_capabilities() {
  VmnetCapabilities out;
#if SQUIB_VMNET_SDK(110000)
  if (__builtin_available(macOS 11.0, *)) out.isolation = out.tso = true;
#endif
#if SQUIB_VMNET_SDK(120000)
  if (__builtin_available(macOS 12.0, *)) out.checksum_offload = true;
#endif
#if SQUIB_VMNET_SDK(150400)
  if (__builtin_available(macOS 15.4, *)) out.virtio_header = true;
#endif
  out.network_objects = VmnetNetwork::available();
  return out;
}

core::Result<void> validate_options(const VmnetOptions& options) {
  const bool any_range = !options.start_address.empty() || !options.end_address.empty() || !options.subnet_mask.empty();
  if (any_range && !has_range(options)) {
    return core::Error{EINVAL, "start_address, end_address and subnet_mask go together"};
  }
  if (options.mode == VmnetMode::bridged && options.bridge.empty()) {
    return core::Error{EINVAL, "bridged mode needs a bridge interface (vmnet_shared_interface_name_key)"};
  }
  if (options.offloads.virtio_header && options.offloads.checksum) {
    return core::Error{EINVAL, "virtio_header and checksum offload are exclusive (Apple vmnet.h)"};
  }
  return {};
}

core::Result<XpcObject> build_descriptor(const VmnetOptions& options, const VmnetAttachment& attachment) {
  if (auto valid = validate_options(options); !valid.ok()) return valid.error();

  XpcObject desc(xpc_dictionary_create(nullptr, nullptr, 0));
  xpc_object_t d = desc.get();
  xpc_dictionary_set_uint64(d, vmnet_operation_mode_key, operating_mode(options.mode));
  const InterfaceId id = interface_id_for(attachment.name);
  xpc_dictionary_set_uuid(d, vmnet_interface_id_key, id.data());
  // vmnet_mac_address_key is an output [Apple vmnet.h]: never set. The VM sends with its own
  // MAC, so vmnet need not allocate one (QEMU net/vmnet-common.m sets this false too).
  xpc_dictionary_set_bool(d, vmnet_allocate_mac_address_key, false);
  if (options.mode == VmnetMode::bridged) {
    // No vmnet_mtu_key: in a bridged descriptor it is an error [Apple vmnet.h]; the MTU is
    // the bridged interface's and comes back in the parameters.
    xpc_dictionary_set_string(d, vmnet_shared_interface_name_key, options.bridge.c_str());
  } else {
    xpc_dictionary_set_uint64(d, vmnet_mtu_key, attachment.mtu);
    if (has_range(options)) {
      xpc_dictionary_set_string(d, vmnet_start_address_key, options.start_address.c_str());  // the gateway
      xpc_dictionary_set_string(d, vmnet_end_address_key, options.end_address.c_str());
      xpc_dictionary_set_string(d, vmnet_subnet_mask_key, options.subnet_mask.c_str());
    }
    if (options.isolation) xpc_dictionary_set_bool(d, vmnet_enable_isolation_key, true);
  }
  if (auto offloads = set_offloads(d, options.offloads); !offloads.ok()) return offloads.error();
  return core::Result<XpcObject>{std::move(desc)};
}

core::Result<XpcObject> build_network_descriptor(const VmnetOptions& options) {
  if (options.offloads.virtio_header) {
    return core::Error{EINVAL, "virtio headers are not documented for vmnet_interface_start_with_network"};
  }
  XpcObject desc(xpc_dictionary_create(nullptr, nullptr, 0));
  xpc_object_t d = desc.get();
  xpc_dictionary_set_bool(d, vmnet_allocate_mac_address_key, false);
  if (options.isolation) xpc_dictionary_set_bool(d, vmnet_enable_isolation_key, true);
  if (auto offloads = set_offloads(d, options.offloads); !offloads.ok()) return offloads.error();
  return core::Result<XpcObject>{std::move(desc)};
}

}  // namespace squib::backend
