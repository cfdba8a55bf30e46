#pragma once

// The start descriptor of a vmnet interface: the checks vmnet would refuse, then the xpc
// dictionary that vmnet_start_interface (or, on macOS 26, vmnet_interface_start_with_network)
// takes. Keys and their rules: Apple vmnet.h and /work/shared/vmnet-facts.md §2.
//
// Internal to lib/squib/backend/vmnet: unlike vmnet_backend.hpp, this header names Apple
// types (xpc_object_t), so only the vmnet sources include it.

#include <squib/backend/vmnet/vmnet_backend.hpp>
#include <squib/core/mac_address.hpp>
#include <squib/core/result.hpp>

#include <vmnet/vmnet.h>
#include <xpc/xpc.h>

// True when the SDK we build against declares symbols of macOS `v` (e.g. 150400).
#if defined(__APPLE__)
#include <Availability.h>
#define SQUIB_VMNET_SDK(v) (__MAC_OS_X_VERSION_MAX_ALLOWED >= (v))
#elif defined(SQUIB_FAKE_VMNET_SDK_VERSION)
// The Linux contract fake plays an SDK of this level (tests/vmnet/fake/include/vmnet/vmnet.h).
#define SQUIB_VMNET_SDK(v) (SQUIB_FAKE_VMNET_SDK_VERSION >= (v))
#else
#error "vmnet backend: neither Apple's SDK nor the contract fake"
#endif

#include <cstddef>
#include <string_view>
#include <utility>

namespace squib::backend {

// Owns one reference to an xpc object: xpc_release() on destruction. Move-only.
class XpcObject {
public:
  XpcObject() = default;
  explicit XpcObject(xpc_object_t object) : m_object(object) {}
  XpcObject(XpcObject&& other) noexcept : m_object(std::exchange(other.m_object, nullptr)) {}
  XpcObject& operator=(XpcObject&& other) noexcept {
    if (this != &other) {
      reset();
      m_object = std::exchange(other.m_object, nullptr);
    }
    return *this;
  }
  XpcObject(const XpcObject&) = delete;
  XpcObject& operator=(const XpcObject&) = delete;
  ~XpcObject() { reset(); }

  [[nodiscard]] xpc_object_t get() const { return m_object; }

private:
  void reset() {
    if (m_object != nullptr) xpc_release(m_object);
    m_object = nullptr;
  }
  xpc_object_t m_object = nullptr;
};

// The combinations of options vmnet refuses, caught before vmnet is called (EINVAL):
// a partial start/end/mask triple [Q net/vmnet-shared.c], bridged without a host interface,
// virtio header with checksum offload [Apple vmnet.h].
core::Result<void> validate_options(const VmnetOptions& options);

// What the descriptor says about the attachment itself. No MAC: vmnet_mac_address_key is an
// output of vmnet (Apple vmnet.h); the descriptor sets vmnet_allocate_mac_address_key=false
// (as QEMU net/vmnet-common.m does) and the VM sends with its own MAC.
struct VmnetAttachment {
  std::string_view name;   // → vmnet_interface_id_key (interface_id_for)
  std::size_t mtu = 1500;  // → vmnet_mtu_key, shared/host only (an error in bridged mode)
};

// validate_options(), then the vmnet_start_interface descriptor. ENOTSUP for an offload this
// macOS or SDK lacks.
core::Result<XpcObject> build_descriptor(const VmnetOptions& options, const VmnetAttachment& attachment);

// The descriptor for macOS 26 vmnet_interface_start_with_network: only the keys Apple
// documents for it (AD "vmnet_interface_start_with_network(_:_:_:_:)"):
// vmnet_allocate_mac_address_key (false), vmnet_enable_tso_key,
// vmnet_enable_checksum_offload_key, vmnet_enable_isolation_key. Mode, addresses, MTU and id
// belong to the network. EINVAL for a virtio header (not documented there), ENOTSUP as above.
core::Result<XpcObject> build_network_descriptor(const VmnetOptions& options);

}  // namespace squib::backend
