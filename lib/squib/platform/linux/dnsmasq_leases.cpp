#include <squib/platform/linux/dnsmasq_leases.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <sstream>

#include <squib/core/fd.hpp>
#include <squib/uv/check.hpp>

namespace squib::platform {

namespace {

// A lease file larger than this is not dnsmasq's for our few hundred guests; read no more.
constexpr std::size_t k_max_lease_file = 1024 * 1024;

}  // namespace

std::vector<DnsmasqLease> parse_dnsmasq_leases(std::string_view text) {
  std::vector<DnsmasqLease> out;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string expiry, mac, address, hostname;
    if (!(words >> expiry >> mac >> address >> hostname)) continue;
    if (mac.size() != 17 || address.find('.') == std::string::npos || address.find(':') != std::string::npos) continue;
    out.push_back({mac, address, hostname == "*" ? std::string() : hostname});
  }
  return out;
}

DnsmasqLeaseWatch::DnsmasqLeaseWatch(uv_loop_t* loop, std::string lease_path, Changed changed)
    : m_path(std::move(lease_path)), m_changed(std::move(changed)) {
  const auto slash = m_path.rfind('/');
  m_file_name = slash == std::string::npos ? m_path : m_path.substr(slash + 1);
  uv::ok(uv_fs_event_init(loop, m_watch.get()), "uv_fs_event_init");
  m_watch->data = this;
}

core::Result<void> DnsmasqLeaseWatch::start() {
  const auto slash = m_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : m_path.substr(0, slash);
  const int rc = uv_fs_event_start(
      m_watch.get(),
      [](uv_fs_event_t* watch, const char* filename, int, int status) {
        auto* self = uv::owner_of<DnsmasqLeaseWatch>(watch);
        // Some platforms give no file name: any change may be ours.
        if (self != nullptr && (status != 0 || filename == nullptr || self->m_file_name == filename)) self->read();
      },
      dir.c_str(), 0);
  if (rc != 0) return core::Error{-rc, "watch " + dir + ": " + uv_strerror(rc)};
  return {};
}

void DnsmasqLeaseWatch::read() {
  core::Fd fd(::open(m_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return;  // not written yet, or being replaced: the next event reads it
  std::string text;
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > k_max_lease_file) return;
  }
  m_changed(parse_dnsmasq_leases(text));
}

}  // namespace squib::platform
