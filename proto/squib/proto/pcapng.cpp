#include <squib/proto/pcapng.hpp>

#include <algorithm>
#include <cstring>

namespace squib::proto::pcapng {

namespace {

constexpr std::size_t padded(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// Appends to a fixed buffer; a write past its end marks it failed instead.
class Writer {
 public:
  explicit Writer(std::span<std::byte> out) : m_out(out) {}
  void bytes(const void* data, std::size_t n) {
    if (m_failed || m_at + n > m_out.size()) {
      m_failed = true;
      return;
    }
    if (n > 0) std::memcpy(m_out.data() + m_at, data, n);
    m_at += n;
  }
  void u16(std::uint16_t v) { bytes(&v, sizeof v); }
  void u32(std::uint32_t v) { bytes(&v, sizeof v); }
  void u64(std::uint64_t v) { bytes(&v, sizeof v); }
  void pad() {
    static constexpr std::byte zeros[4]{};
    bytes(zeros, padded(m_at) - m_at);
  }
  void option(std::uint16_t code, const void* data, std::size_t n) {
    u16(code);
    u16(static_cast<std::uint16_t>(n));
    bytes(data, n);
    pad();
  }
  void end_of_options() { u32(0); }
  // Writes the total length at offset 4 and at the end; the block's size, or 0 if it failed.
  std::size_t finish() {
    const auto total = static_cast<std::uint32_t>(m_at + 4);
    u32(total);
    if (m_failed) return 0;
    std::memcpy(m_out.data() + 4, &total, sizeof total);
    return m_at;
  }

 private:
  std::span<std::byte> m_out;
  std::size_t m_at = 0;
  bool m_failed = false;
};

void timestamp(Writer& w, std::uint64_t us) {
  w.u32(static_cast<std::uint32_t>(us >> 32U));
  w.u32(static_cast<std::uint32_t>(us & 0xffffffffU));
}

template <class T>
T read_at(std::span<const std::byte> bytes, std::size_t at) {
  T value{};
  std::memcpy(&value, bytes.data() + at, sizeof value);
  return value;
}

}  // namespace

std::size_t encode(std::span<std::byte> out, const EnhancedPacket& packet) {
  Writer w(out);
  w.u32(k_enhanced_packet);
  w.u32(0);  // total length, by finish()
  w.u32(0);  // interface 0
  timestamp(w, packet.timestamp_us);
  w.u32(static_cast<std::uint32_t>(packet.captured.size()));
  w.u32(packet.original_length);
  w.bytes(packet.captured.data(), packet.captured.size());
  w.pad();
  const auto flags = static_cast<std::uint32_t>(packet.direction);
  w.option(k_epb_flags, &flags, sizeof flags);
  if (packet.dropcount > 0) w.option(k_epb_dropcount, &packet.dropcount, sizeof packet.dropcount);
  if (!packet.comment.empty()) {
    const std::string_view comment = packet.comment.substr(0, k_max_comment);
    w.option(k_opt_comment, comment.data(), comment.size());
  }
  w.end_of_options();
  return w.finish();
}

std::size_t encode(std::span<std::byte> out, const InterfaceStatistics& statistics) {
  Writer w(out);
  w.u32(k_interface_statistics);
  w.u32(0);
  w.u32(0);  // interface 0
  timestamp(w, statistics.timestamp_us);
  w.option(k_isb_ifrecv, &statistics.received, sizeof statistics.received);
  w.option(k_isb_osdrop, &statistics.lost, sizeof statistics.lost);
  w.option(k_isb_usrdeliv, &statistics.delivered, sizeof statistics.delivered);
  w.end_of_options();
  return w.finish();
}

std::vector<std::byte> file_header(std::uint32_t snaplen, std::string_view name) {
  std::vector<std::byte> out(28 + 20 + 4 + padded(std::min(name.size(), std::size_t{255})) + 4 + 4);
  Writer shb(out);
  shb.u32(k_section_header);
  shb.u32(0);
  shb.u32(k_byte_order_magic);
  shb.u16(1);  // version 1.0 (§4.1)
  shb.u16(0);
  shb.u64(~std::uint64_t{0});  // section length not known
  const std::size_t shb_size = shb.finish();

  Writer idb(std::span<std::byte>(out).subspan(shb_size));
  idb.u32(k_interface_description);
  idb.u32(0);
  idb.u16(k_linktype_ethernet);
  idb.u16(0);
  idb.u32(snaplen);
  const std::string_view if_name = name.substr(0, 255);
  idb.option(k_if_name, if_name.data(), if_name.size());
  idb.end_of_options();
  out.resize(shb_size + idb.finish());
  return out;
}

std::optional<RecordSummary> summarize(std::span<const std::byte> record) {
  if (record.size() < 12 || record.size() % 4 != 0) return std::nullopt;
  RecordSummary out;
  out.type = read_at<std::uint32_t>(record, 0);
  const auto total = read_at<std::uint32_t>(record, 4);
  if (total != record.size() || read_at<std::uint32_t>(record, record.size() - 4) != total) return std::nullopt;
  std::size_t options = 0;
  if (out.type == k_enhanced_packet) {
    if (record.size() < 32) return std::nullopt;
    options = 28 + padded(read_at<std::uint32_t>(record, 20));
  } else if (out.type == k_interface_statistics) {
    options = 20;
  } else {
    return out;
  }
  // Options up to the trailing length: {u16 code, u16 length, value padded}, end code 0.
  while (options + 4 <= record.size() - 4) {
    const auto code = read_at<std::uint16_t>(record, options);
    const auto length = read_at<std::uint16_t>(record, options + 2);
    if (code == 0) break;
    const std::size_t value = options + 4;
    if (value + length > record.size() - 4) return std::nullopt;
    if (length == 8) {
      const auto v = read_at<std::uint64_t>(record, value);
      if (out.type == k_enhanced_packet && code == k_epb_dropcount) out.dropcount = v;
      if (out.type == k_interface_statistics) {
        if (code == k_isb_ifrecv) out.statistics.received = v;
        if (code == k_isb_osdrop) out.statistics.lost = v;
        if (code == k_isb_usrdeliv) out.statistics.delivered = v;
      }
    }
    options = value + padded(length);
  }
  return out;
}

}  // namespace squib::proto::pcapng
