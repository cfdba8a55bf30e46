#pragma once

// Attachment: one VM's network attachment — its VM port, its backend and the policy between
// them. It owns both ends and is the FrameSink for frames from the VM:
//
//   VmPort ──consume()──▶ Attachment: anti-spoofing ──▶ Backend::send()
//   VmPort ◀──consume()── Backend (context.to_vm is the VmPort)
//
// Anti-spoofing (on by default, like libvirt's clean-traffic and softnet) is a SourceGuard
// (relay/source_guard.hpp): a frame whose source MAC (or ARP sender MAC) is not the
// attachment's is dropped and counted as spoofed_mac; once the guest's IPv4 address is known
// (host/shared: its static DHCP lease), IPv4, ARP and IPv6 (its link-local or network.address6)
// from any other source are dropped and counted as spoofed_ip, and so are router
// advertisements and DHCP server messages (router_advertisement, dhcp_server); guard level
// `mac` keeps the MAC and rogue-server rules only.
//
// Captures (relay/captures.hpp): while a `capture` runs, consume() records the VM's frames
// (with the guard's verdicts) and the VmPort records the frames to the VM; otherwise each
// costs one branch per batch.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <squib/backend/backend.hpp>
#include <squib/core/frame_sink.hpp>
#include <squib/core/mac_address.hpp>
#include <squib/core/stats.hpp>
#include <squib/relay/captures.hpp>
#include <squib/relay/source_guard.hpp>
#include <squib/relay/vm_port.hpp>

namespace squib::relay {

struct AttachmentPolicy {
  core::MacAddress mac;
  bool anti_spoofing = true;
  // The guest's IPv4 address (host byte order) when the daemon assigned it; nullopt: unknown
  // (bridged, userspace), only MAC checks apply.
  std::optional<std::uint32_t> ipv4;
  // The guest's network IPv6 address (start's network.address6) when the daemon knows it.
  std::optional<core::Ipv6Address> ipv6{};
  GuardLevel guard = GuardLevel::full;  // start's `guard`
};

class Attachment final : public core::FrameSink {
 public:
  Attachment(std::string name, AttachmentPolicy policy);
  ~Attachment() override;
  Attachment(const Attachment&) = delete;
  Attachment& operator=(const Attachment&) = delete;

  // Two-step wiring: the port and the backend each need the other's sink.
  void set_port(std::unique_ptr<VmPort> port) {
    m_port = std::move(port);
    if (m_port) m_port->set_captures(&m_captures);
  }
  void set_backend(std::unique_ptr<backend::Backend> backend) { m_backend = std::move(backend); }

  // Frames from the VM.
  void consume(const core::FrameBatch& batch) override;

  // The guest's IPv4 address, once the backend has assigned it (host/shared: the registry
  // passes the factory's network.address before the backend starts). From then on IPv4/ARP
  // frames from another source are dropped as spoofed_ip.
  void set_guest_ipv4(std::optional<std::uint32_t> ipv4) {
    m_policy.ipv4 = ipv4;
    m_guard.set_ipv4(ipv4);
  }
  // The guest's network IPv6 address (network.address6), besides its link-local one.
  void set_guest_ipv6(std::optional<core::Ipv6Address> ipv6) {
    m_policy.ipv6 = ipv6;
    m_guard.set_ipv6(ipv6);
  }
  [[nodiscard]] const AttachmentPolicy& policy() const { return m_policy; }

  // Closes the VM socket at once, then stops the backend; `done` runs when all is released.
  void stop(std::function<void()> done);

  [[nodiscard]] const std::string& name() const { return m_name; }
  [[nodiscard]] core::AttachmentStats& stats() { return m_stats; }
  [[nodiscard]] const core::AttachmentStats& stats() const { return m_stats; }
  [[nodiscard]] VmPort* port() const { return m_port.get(); }
  [[nodiscard]] Captures& captures() { return m_captures; }
  [[nodiscard]] backend::Backend* backend() const { return m_backend.get(); }
  [[nodiscard]] std::chrono::steady_clock::duration uptime() const {
    return std::chrono::steady_clock::now() - m_started_at;
  }

 private:
  std::string m_name;
  AttachmentPolicy m_policy;
  SourceGuard m_guard;
  core::AttachmentStats m_stats;
  Captures m_captures;  // before m_port, which points to it: destroyed after the port
  std::unique_ptr<VmPort> m_port;
  std::unique_ptr<backend::Backend> m_backend;
  std::chrono::steady_clock::time_point m_started_at = std::chrono::steady_clock::now();
};

}  // namespace squib::relay
