#pragma once

// The `capture` method's parameters and result (proto/control-protocol.md, "capture").
// {name, snaplen?, direction?, dropped?} → {name, snaplen, direction, dropped, linktype,
// interface} with one end of an AF_UNIX SOCK_SEQPACKET socketpair passed alongside
// (SCM_RIGHTS), on which every datagram is one pcapng record (proto/pcapng.hpp).

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace squib::proto {

// Which frames: to the VM (`in`), from it (`out`), or both — the guest's point of view.
enum class CaptureDirection { both, in, out };
const char* to_string(CaptureDirection direction);

// Bytes kept of each frame. 262144 is tcpdump's default (and the most Wireshark reads);
// frames are never longer than 65535 + 18 here, so the default keeps whole frames.
inline constexpr std::uint32_t k_default_snaplen = 262144;
inline constexpr std::uint32_t k_min_snaplen = 14;  // an Ethernet header

struct CaptureParams {
  std::string name;
  std::uint32_t snaplen = k_default_snaplen;
  CaptureDirection direction = CaptureDirection::both;
  bool dropped = false;  // also the frames the anti-spoofing guard dropped, with a comment
};
CaptureParams parse_capture_params(const nlohmann::json& params);
nlohmann::json to_json(const CaptureParams& params);

struct CaptureResult {
  std::string name;
  std::uint32_t snaplen = k_default_snaplen;
  CaptureDirection direction = CaptureDirection::both;
  bool dropped = false;
  std::uint32_t linktype = 1;  // LINKTYPE_ETHERNET
  std::string interface;       // the pcapng if_name: "squib:<name>"
};
nlohmann::json to_json(const CaptureResult& result);
void from_json(const nlohmann::json& value, CaptureResult& out);

}  // namespace squib::proto
