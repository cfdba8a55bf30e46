#pragma once

// Table: left-aligned text columns for squib-netctl's human output.

#include <string>
#include <vector>

namespace squib::proto {

class Table {
public:
  explicit Table(std::vector<std::string> headers) : m_rows{std::move(headers)} {}
  void add(std::vector<std::string> row) { m_rows.push_back(std::move(row)); }
  [[nodiscard]] std::string render() const;

private:
  std::vector<std::vector<std::string>> m_rows;
};

}  // namespace squib::proto
