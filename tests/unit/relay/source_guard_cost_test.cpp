// Not a test: the workload behind the guard's cost per frame in docs/operations.md
// ("Anti-spoofing"), hidden from the default run ([.]). Each section filters 1,000 full batches
// of one kind of frame through a host/shared guard; measure with
//   valgrind --tool=callgrind --toggle-collect='squib::relay::SourceGuard::filter*'
//     build/tests/unit/squib_unit_tests '[guard-cost]' -c '<section>'   (one command line)
// and divide the Ir by 32,000 (filter()'s loop included, as the earlier figures).

#include <squib/relay/source_guard.hpp>

#include <vector>

#include "support/catch.hpp"
#include "unit/bytes.hpp"

namespace {

using squib::test::bytes;
using Frame = std::vector<std::byte>;

Frame operator+(Frame head, const Frame& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

// From 02:00:00:00:00:0a to the gateway 02:aa:aa:aa:aa:01.
Frame ethernet(unsigned hi, unsigned lo) {
  return bytes({0x02, 0xaa, 0xaa, 0xaa, 0xaa, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, hi, lo});
}
// IPv6 from fe80::ff:fe00:a (the guest's link-local) to fe80::1, next header `next`, hop limit 64.
Frame ipv6(unsigned next, const Frame& payload) {
  return ethernet(0x86, 0xdd) + bytes({0x60, 0,    0,    0,    0,    unsigned(payload.size()),
                                       next, 64,  //
                                       0xfe, 0x80, 0,    0,    0,    0,
                                       0,    0,    0x00, 0x00, 0x00, 0xff,
                                       0xfe, 0x00, 0x00, 0x0a,  //
                                       0xfe, 0x80, 0,    0,    0,    0,
                                       0,    0,    0,    0,    0,    0,
                                       0,    0,    0,    0x01}) +
         payload;
}

std::size_t passed(const Frame& frame) {
  squib::relay::SourceGuard guard{squib::core::MacAddress{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}}, 0xc0a86917};
  squib::core::FrameBatch in;
  while (!in.full()) in.push(frame);
  squib::core::AttachmentStats stats;
  std::size_t total = 0;
  for (int i = 0; i < 1000; ++i) {
    squib::core::FrameBatch out;
    guard.filter(in, out, stats);
    total += out.count;
  }
  return total;
}

}  // namespace

TEST_CASE("SourceGuard cost workload", "[.][guard-cost]") {
  const Frame echo6 = bytes({128, 0, 0, 0, 0, 1, 0, 1});
  SECTION("other") { CHECK(passed(ethernet(0x88, 0xb5) + Frame(46)) == 32000); }
  SECTION("arp") {
    CHECK(passed(ethernet(0x08, 0x06) +
                 bytes({0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
                        0xc0, 0xa8, 0x69, 0x17, 0,    0,    0,    0,    0,    0,    0xc0, 0xa8, 0x69, 0x01})) == 32000);
  }
  SECTION("ipv4-icmp") {
    CHECK(passed(ethernet(0x08, 0x00) + bytes({0x45, 0,    0,    28,   0,    0,    0x40, 0, 64, 1, 0, 0, 0xc0, 0xa8,
                                               0x69, 0x17, 0xc0, 0xa8, 0x69, 0x01, 8,    0, 0,  0, 0, 1, 0,    1})) ==
          32000);
  }
  SECTION("ipv4-udp") {
    CHECK(passed(ethernet(0x08, 0x00) +
                 bytes({0x45, 0,    0,    28,   0,    0,    0x40, 0,    64, 17, 0, 0, 0xc0, 0xa8,
                        0x69, 0x17, 0xc0, 0xa8, 0x69, 0x01, 0x9c, 0x40, 0,  53, 0, 8, 0,    0})) == 32000);
  }
  SECTION("ipv6-icmp") { CHECK(passed(ipv6(58, echo6)) == 32000); }
  SECTION("ipv6-udp") { CHECK(passed(ipv6(17, bytes({0x9c, 0x40, 0, 53, 0, 8, 0, 0}))) == 32000); }
  SECTION("ipv6-hop-by-hop-icmp") { CHECK(passed(ipv6(0, bytes({58, 0, 5, 2, 0, 0, 1, 0}) + echo6)) == 32000); }
}
