#include <squib/backend/tap_offload.hpp>

#include <squib/core/frame_view.hpp>

namespace squib::backend {

using core::DropReason;

std::optional<DropReason> prepare_tap_write(std::span<const std::byte> frame, std::size_t mtu, TapWrite& out) {
  const auto described = core::header_for_tap(frame, mtu);
  if (const auto* reason = std::get_if<DropReason>(&described)) return *reason;
  const auto& tap_frame = std::get<core::TapFrame>(described);
  tap_frame.header.encode(out.header);
  auto* data = const_cast<std::byte*>(frame.data());  // iovec is not const; writev only reads
  out.parts[0] = iovec{out.header.data(), out.header.size()};
  out.parts[1] = iovec{data, frame.size()};
  out.count = 2;
  if ((tap_frame.header.flags & core::k_vnet_needs_csum) != 0) {
    const std::size_t at = tap_frame.checksum_at;  // at + 2 <= frame.size(): header_for_tap
    out.checksum = tap_frame.checksum;
    out.parts[1].iov_len = at;
    out.parts[2] = iovec{out.checksum.data(), out.checksum.size()};
    out.parts[3] = iovec{data + at + 2, frame.size() - at - 2};
    out.count = 4;
  }
  return std::nullopt;
}

std::variant<std::span<const std::byte>, DropReason> frame_from_tap_read(std::span<std::byte> read) {
  if (read.size() < core::k_vnet_header_size + core::k_ethernet_header_size) return DropReason::runt;
  const auto header = core::VnetHeader::decode(read.first<core::k_vnet_header_size>());
  const auto frame = read.subspan(core::k_vnet_header_size);
  if (const auto reason = core::complete_checksum(header, frame)) return *reason;
  return std::span<const std::byte>(frame);
}

}  // namespace squib::backend
