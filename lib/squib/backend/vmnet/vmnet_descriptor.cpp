#include <squib/backend/vmnet/vmnet_descriptor.hpp>

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

// vmnet_enable_tso_key and vmnet_enable_checksum_offload_key (macOS 15), and
// vmnet_enable_virtio_header_key (macOS 15.4), when asked for.
core::Result<void> set_offloads(xpc_object_t desc, const VmnetOffloads& offloads) {
  if (offloads.tso || offloads.checksum) {
#if SQUIB_VMNET_SDK(150000)
    if (__builtin_available(macOS 15.0, *)) {
      if (offloads.tso) xpc_dictionary_set_bool(desc, vmnet_enable_tso_key, true);
      if (offloads.checksum) xpc_dictionary_set_bool(desc, vmnet_enable_checksum_offload_key, true);
    } else {
      return core::Error{ENOTSUP, "TSO and checksum offload need macOS 15"};
    }
#else
    return core::Error{ENOTSUP, "TSO and checksum offload need a macOS 15 SDK"};
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
  // Advisory: vmnet reports the MAC it associates with the interface; the VM uses the
  // attachment's MAC in any case (vmnet forwards any source MAC in shared and host mode —
  // socket_vmnet serves several VMs through one interface that way).
  const std::string mac = attachment.mac.to_string();
  xpc_dictionary_set_string(d, vmnet_mac_address_key, mac.c_str());
  xpc_dictionary_set_uint64(d, vmnet_mtu_key, attachment.mtu);
  if (options.mode == VmnetMode::bridged) {
    xpc_dictionary_set_string(d, vmnet_shared_interface_name_key, options.bridge.c_str());
  } else {
    if (has_range(options)) {
      xpc_dictionary_set_string(d, vmnet_start_address_key, options.start_address.c_str());
      xpc_dictionary_set_string(d, vmnet_end_address_key, options.end_address.c_str());
      xpc_dictionary_set_string(d, vmnet_subnet_mask_key, options.subnet_mask.c_str());
    }
    if (options.isolation) xpc_dictionary_set_bool(d, vmnet_enable_isolation_key, true);
  }
  if (auto offloads = set_offloads(d, options.offloads); !offloads.ok()) return offloads.error();
  return core::Result<XpcObject>{std::move(desc)};
}

}  // namespace squib::backend
