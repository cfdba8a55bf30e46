#pragma once

// Typed, field-named readers of JSON objects, shared by the protocol's parsers
// (messages.cpp, network_messages.cpp): the one place that words "must be a string", "is
// required" and the like, so that every method's -32602 reads the same. Internal to proto/.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include <squib/core/ipv6_prefix.hpp>
#include <squib/core/names.hpp>
#include <squib/proto/messages.hpp>

namespace squib::proto::detail {

// Typed, field-named access to one params object.
class ParamReader {
 public:
  explicit ParamReader(const json& object, std::string prefix = "") : m_object(object), m_prefix(std::move(prefix)) {}

  [[nodiscard]] const json* find(const char* field) const {
    const auto it = m_object.find(field);
    return (it == m_object.end() || it->is_null()) ? nullptr : &*it;
  }
  [[nodiscard]] std::string path(const char* field) const { return m_prefix + field; }

  std::optional<std::string> string(const char* field) const {
    const json* value = find(field);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) throw ParamError(path(field), "must be a string");
    return value->get<std::string>();
  }
  // An IPv6 /64 (core::Ipv6Prefix), as `subnet6` of start and network.create.
  std::optional<std::string> subnet6(const char* field) const {
    auto value = string(field);
    if (value && !core::Ipv6Prefix::parse(*value)) {
      throw ParamError(path(field), "must be an IPv6 /64 such as fd00:1:2:3::/64 (not link-local or multicast)");
    }
    return value;
  }
  // A DNS domain (core::is_valid_dns_domain), as `domain` of start and network.create.
  std::optional<std::string> domain(const char* field) const {
    auto value = string(field);
    if (value && !core::is_valid_dns_domain(*value)) {
      throw ParamError(path(field), "must be a DNS domain of labels [a-z0-9-] separated by dots, e.g. squib.internal");
    }
    return value;
  }
  std::string required_string(const char* field) const {
    auto value = string(field);
    if (!value) throw ParamError(path(field), "is required");
    return *value;
  }
  std::optional<std::uint32_t> uint(const char* field, std::uint32_t min, std::uint32_t max) const {
    const json* value = find(field);
    if (value == nullptr) return std::nullopt;
    const std::string range = "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (!value->is_number_integer()) throw ParamError(path(field), range);
    const auto n = value->get<std::int64_t>();
    if (n < min || n > max) throw ParamError(path(field), range);
    return static_cast<std::uint32_t>(n);
  }
  std::optional<bool> boolean(const char* field) const {
    const json* value = find(field);
    if (value == nullptr) return std::nullopt;
    if (!value->is_boolean()) throw ParamError(path(field), "must be true or false");
    return value->get<bool>();
  }

 private:
  const json& m_object;
  std::string m_prefix;
};

inline std::string checked_name(const std::string& field, const std::string& name) {
  if (!core::is_valid_name(name)) {
    throw ParamError(field, "must match [A-Za-z0-9_.-]{1,64} and not be . or ..");
  }
  return name;
}

inline json string_or_null(const std::optional<std::string>& value) { return value ? json(*value) : json(nullptr); }

// Typed, member-named access to one result object from the daemon. Unlike ParamReader its
// members are required unless read as optional; null counts as absent.
class ResultReader {
 public:
  ResultReader(const json& object, std::string prefix) : m_object(object), m_prefix(std::move(prefix)) {
    if (!m_object.is_object()) {
      throw ParamError(m_prefix.empty() ? "result" : m_prefix.substr(0, m_prefix.size() - 1), "must be an object");
    }
  }

  [[nodiscard]] std::string path(const char* field) const { return m_prefix + field; }
  [[nodiscard]] const json* find(const char* field) const {
    const auto it = m_object.find(field);
    return (it == m_object.end() || it->is_null()) ? nullptr : &*it;
  }
  [[nodiscard]] const json& required(const char* field) const {
    const json* value = find(field);
    if (value == nullptr) throw ParamError(path(field), "is required");
    return *value;
  }
  [[nodiscard]] std::optional<std::string> optional_string(const char* field) const {
    const json* value = find(field);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) throw ParamError(path(field), "must be a string");
    return value->get<std::string>();
  }
  [[nodiscard]] std::string string(const char* field) const {
    if (!required(field).is_string()) throw ParamError(path(field), "must be a string");
    return required(field).get<std::string>();
  }
  [[nodiscard]] std::uint64_t u64(const char* field) const {
    const json& value = required(field);
    // (A parsed non-negative integer is number_unsigned; one built from a signed C++ value is not.)
    if (value.is_number_unsigned()) return value.get<std::uint64_t>();
    if (value.is_number_integer() && value.get<std::int64_t>() >= 0) return value.get<std::uint64_t>();
    throw ParamError(path(field), "must be a non-negative integer");
  }
  [[nodiscard]] std::int64_t i64(const char* field) const {
    const json& value = required(field);
    if (!value.is_number_integer()) throw ParamError(path(field), "must be an integer");
    return value.get<std::int64_t>();
  }
  [[nodiscard]] double number(const char* field) const {
    const json& value = required(field);
    if (!value.is_number()) throw ParamError(path(field), "must be a number");
    return value.get<double>();
  }
  [[nodiscard]] bool boolean(const char* field) const {
    const json& value = required(field);
    if (!value.is_boolean()) throw ParamError(path(field), "must be true or false");
    return value.get<bool>();
  }
  [[nodiscard]] std::uint32_t mtu(const char* field) const {
    const auto value = u64(field);
    if (value > k_max_mtu) throw ParamError(path(field), "must be at most " + std::to_string(k_max_mtu));
    return static_cast<std::uint32_t>(value);
  }
  [[nodiscard]] Mode mode(const char* field) const {
    const auto mode = mode_from_string(string(field));
    if (!mode) throw ParamError(path(field), "must be shared, host, bridged or userspace");
    return *mode;
  }

 private:
  const json& m_object;
  std::string m_prefix;
};

}  // namespace squib::proto::detail
