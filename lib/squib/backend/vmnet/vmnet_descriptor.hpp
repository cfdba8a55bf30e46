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

#include <xpc/xpc.h>

#if defined(__APPLE__)
#include <Availability.h>
// True when the SDK we build against declares symbols of macOS `v` (e.g. 150400).
#define SQUIB_VMNET_SDK(v) (__MAC_OS_X_VERSION_MAX_ALLOWED >= (v))
#else
#define SQUIB_VMNET_SDK(v) 1  // the Linux contract fake declares everything it models
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

// What the descriptor says about the attachment itself.
struct VmnetAttachment {
  std::string_view name;  // → vmnet_interface_id_key (interface_id_for)
  core::MacAddress mac;   // → vmnet_mac_address_key (advisory)
  std::size_t mtu = 1500;  // → vmnet_mtu_key
};

// validate_options(), then the descriptor. ENOTSUP for an offload this macOS or SDK lacks.
core::Result<XpcObject> build_descriptor(const VmnetOptions& options, const VmnetAttachment& attachment);

}  // namespace squib::backend
