// Fuzz target: the state-file loader, service::parse_state (what a restarted daemon reads
// from <run-dir>/state.json before recreating attachments).
//
// Properties: never throws or crashes; on success every array entry (attachments, and
// networks when present) is either loaded or rejected with "entry N: <field>: <reason>" /
// "network N: …" (nothing silently lost), and every loaded entry survives to_json → parse
// unchanged (what save_state writes, load_state reads).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <squib/proto/messages.hpp>
#include <squib/proto/network_messages.hpp>
#include <squib/service/state_store.hpp>

#include "fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto state = squib::service::parse_state(text);
  if (!state.ok()) {
    FUZZ_CHECK(!state.error().message.empty());
    return 0;
  }
  const auto& loaded = state.value();

  // Count the entries independently.
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  FUZZ_CHECK(!doc.is_discarded() && doc.is_object());
  FUZZ_CHECK(doc.contains("attachments") && doc["attachments"].is_array());
  const std::size_t networks = doc.contains("networks") && doc["networks"].is_array() ? doc["networks"].size() : 0;
  FUZZ_CHECK(doc["attachments"].size() + networks ==
             loaded.attachments.size() + loaded.networks.size() + loaded.rejected.size());

  for (const auto& reason : loaded.rejected) FUZZ_CHECK(reason.starts_with("entry ") || reason.starts_with("network "));
  for (const auto& params : loaded.attachments) {
    const auto once = squib::proto::to_json(params);
    const auto again = squib::proto::parse_start_params(once);
    FUZZ_CHECK(squib::proto::to_json(again) == once);
  }
  for (const auto& spec : loaded.networks) {
    const auto once = squib::proto::to_json(spec);
    FUZZ_CHECK(squib::proto::to_json(squib::proto::parse_network_spec(once)) == once);
  }
  return 0;
}
