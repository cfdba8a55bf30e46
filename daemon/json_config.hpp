#pragma once

// JsonConfig: lets CLI11 read `squib-netd --config FILE` as a JSON object whose keys are the
// long flags without dashes, e.g.
//   {"run-dir": "/run/squib-net", "group": "squib", "max-attachments-per-uid": 8,
//    "allow-bridge": ["br-vms"], "member-modes": ["host", "userspace"], "log-level": "info"}
// Flags on the command line win over the file. Unknown keys are an error (CLI11 reports the
// key), so a typo is never silently ignored. Values: strings, integers, booleans (flags),
// arrays of those (repeatable options). Nested objects are refused: there are no sections —
// but for `networks`, an array of network.create objects (each goes to --network as JSON).

#include <istream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace squib::daemon {

class JsonConfig : public CLI::Config {
 public:
  std::string to_config(const CLI::App*, bool, bool, std::string) const override {
    throw CLI::ConfigError("writing a configuration file is not supported");
  }

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    const nlohmann::json doc = nlohmann::json::parse(input, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      throw CLI::ConfigError("--config: the file must hold one JSON object (keys: the long flags)");
    }
    std::vector<CLI::ConfigItem> parsed;
    for (const auto& [key, value] : doc.items()) {
      CLI::ConfigItem item;
      item.name = key;
      if (key == "networks") {
        // `networks`: [NetworkSpec, …] (issue 15): each object, as its JSON text, to the
        // repeatable --network option, which parses it as network.create's params.
        if (!value.is_array()) throw CLI::ConfigError("--config: networks: must be an array of network objects");
        item.name = "network";
        for (const auto& element : value) {
          if (!element.is_object()) throw CLI::ConfigError("--config: networks: must be an array of network objects");
          item.inputs.push_back(element.dump());
        }
      } else if (value.is_array()) {
        for (const auto& element : value) item.inputs.push_back(scalar(key, element));
      } else {
        item.inputs.push_back(scalar(key, value));
      }
      parsed.push_back(std::move(item));
    }
    return parsed;
  }

 private:
  static std::string scalar(const std::string& key, const nlohmann::json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
    if (value.is_number_integer()) return value.dump();
    throw CLI::ConfigError("--config: " + key + ": must be a string, an integer, true/false or an array of those");
  }
};

}  // namespace squib::daemon
