#include <squib/service/state_store.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <squib/core/fd.hpp>
#include <squib/service/atomic_file.hpp>

namespace squib::service {

using core::Error;
using core::Result;
using nlohmann::json;

namespace {

constexpr int k_state_version = 1;
// state.json is small (256 attachments of ~300 bytes); anything far larger is not ours.
constexpr std::size_t k_max_state_size = 4 * 1024 * 1024;

}  // namespace

Result<void> save_state(const std::string& path, const std::vector<proto::StartParams>& attachments,
                        const std::vector<proto::NetworkSpec>& networks) {
  json doc = {{"version", k_state_version}, {"attachments", json::array()}, {"networks", json::array()}};
  for (const auto& params : attachments) doc["attachments"].push_back(proto::to_json(params));
  for (const auto& spec : networks) doc["networks"].push_back(proto::to_json(spec));
  const std::string text = doc.dump(2) + "\n";

  // 0600: the file names every attachment and its owner; only root reads it.
  return replace_file(path, text, 0600, true);
}

Result<LoadedState> parse_state(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return Error{EINVAL, "state file is not a JSON object"};
  const auto version = doc.find("version");
  // Compared as int64: get<int>() would truncate 2^32 + 1 to 1 and accept it.
  if (version == doc.end() || !version->is_number_integer() || version->get<std::int64_t>() != k_state_version) {
    return Error{EINVAL, "state file has no supported version (want 1)"};
  }
  const auto list = doc.find("attachments");
  if (list == doc.end() || !list->is_array()) return Error{EINVAL, "state file has no attachments array"};
  LoadedState state;
  std::size_t index = 0;
  for (const auto& entry : *list) {
    try {
      state.attachments.push_back(proto::parse_start_params(entry));
    } catch (const proto::ParamError& e) {
      state.rejected.push_back("entry " + std::to_string(index) + ": " + e.what());
    } catch (const json::exception& e) {
      state.rejected.push_back("entry " + std::to_string(index) + ": " + e.what());
    }
    ++index;
  }
  const auto networks = doc.find("networks");
  if (networks == doc.end()) return state;
  if (!networks->is_array()) return Error{EINVAL, "state file's networks is not an array"};
  index = 0;
  for (const auto& entry : *networks) {
    try {
      state.networks.push_back(proto::parse_network_spec(entry));
    } catch (const proto::ParamError& e) {
      state.rejected.push_back("network " + std::to_string(index) + ": " + e.what());
    } catch (const json::exception& e) {
      state.rejected.push_back("network " + std::to_string(index) + ": " + e.what());
    }
    ++index;
  }
  return state;
}

Result<LoadedState> load_state(const std::string& path) {
  core::Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return LoadedState{};
    return Error::from_errno("open " + path);
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("read " + path);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > k_max_state_size) return Error{EFBIG, path + " is larger than 4 MiB"};
  }
  return parse_state(text);
}

}  // namespace squib::service
