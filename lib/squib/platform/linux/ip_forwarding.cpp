#include <squib/platform/linux/ip_forwarding.hpp>

#include <fstream>

#include <spdlog/spdlog.h>

namespace squib::platform {

void IpForwarding::network_added() {
  if (m_networks++ > 0) return;
  std::ifstream in(m_path);
  std::string before;
  std::getline(in, before);
  if (before == "1") return;  // already on: not ours to turn off later
  std::ofstream out(m_path);
  if (!(out << "1\n") || !out.flush()) {
    spdlog::error("cannot enable net.ipv4.ip_forward: shared networks will not reach the uplink");
    return;
  }
  m_before = before;
  spdlog::info("net.ipv4.ip_forward: {} -> 1 (restored when the last shared network goes)", before);
}

void IpForwarding::network_removed() {
  if (m_networks == 0 || --m_networks > 0 || !m_before) return;
  std::ofstream out(m_path);
  if (out << *m_before << "\n" && out.flush()) {
    spdlog::info("net.ipv4.ip_forward: restored to {}", *m_before);
  } else {
    spdlog::error("cannot restore net.ipv4.ip_forward to {}", *m_before);
  }
  m_before.reset();
}

}  // namespace squib::platform
