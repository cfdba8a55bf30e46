#include <squib/platform/linux/ip_forwarding.hpp>

#include <fstream>

#include <spdlog/spdlog.h>

namespace squib::platform {

bool IpForwarding::on() const {
  std::ifstream in(m_path);
  std::string value;
  std::getline(in, value);
  return value == "1";
}

void IpForwarding::network_added() {
  if (m_networks++ > 0) return;
  std::ifstream in(m_path);
  std::string before;
  std::getline(in, before);
  if (before == "1") return;  // already on: not ours to turn off later
  std::ofstream out(m_path);
  if (!(out << "1\n") || !out.flush()) {
    spdlog::error("cannot enable {}: shared networks will not reach the uplink", m_sysctl);
    return;
  }
  m_before = before;
  spdlog::info("{}: {} -> 1 (restored when the last shared network goes)", m_sysctl, before);
}

void IpForwarding::network_removed() {
  if (m_networks == 0 || --m_networks > 0 || !m_before) return;
  std::ofstream out(m_path);
  if (out << *m_before << "\n" && out.flush()) {
    spdlog::info("{}: restored to {}", m_sysctl, *m_before);
  } else {
    spdlog::error("cannot restore {} to {}", m_sysctl, *m_before);
  }
  m_before.reset();
}

}  // namespace squib::platform
