#pragma once

// TempDir: a fresh directory under /tmp (short, so socket paths fit sun_path), removed with
// its contents when the test ends. Shared by unit, platform and integration tests.
//
// Mode 0755, as a daemon's run dir under /run is reachable: passt and dnsmasq run as nobody
// and must reach their files in it (a test of the unreachable case chmods it back to 0700).

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace squib::test {

class TempDir {
public:
  TempDir() {
    char pattern[] = "/tmp/squib-test-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    m_path = pattern;
    if (::chmod(m_path.c_str(), 0755) != 0) throw std::runtime_error("chmod " + m_path + " failed");
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const { return m_path; }
  [[nodiscard]] std::string file(const std::string& name) const { return m_path + "/" + name; }

private:
  std::string m_path;
};

}  // namespace squib::test
