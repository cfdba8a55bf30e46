#pragma once

// TempDir: a fresh directory under /tmp (short, so socket paths fit sun_path), removed with
// its contents when the test ends. Shared by unit, platform and integration tests.

#include <stdlib.h>

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
