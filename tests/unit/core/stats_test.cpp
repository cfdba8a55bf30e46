// Tests of squib/core/stats.hpp: drop-reason names (they are keys in the `stats` reply) and
// the counters' arithmetic.

#include <squib/core/stats.hpp>

#include <string_view>

#include "support/catch.hpp"

using squib::core::AttachmentStats;
using squib::core::DirectionStats;
using squib::core::DropReason;

TEST_CASE("DropReason names are the stats reply's keys", "[core][stats]") {
  using squib::core::to_string;
  CHECK(to_string(DropReason::runt) == "runt");
  CHECK(to_string(DropReason::oversize) == "oversize");
  CHECK(to_string(DropReason::no_peer) == "no_peer");
  CHECK(to_string(DropReason::vm_full) == "vm_full");
  CHECK(to_string(DropReason::backend_full) == "backend_full");
  CHECK(to_string(DropReason::peer_gone) == "peer_gone");
  CHECK(to_string(DropReason::spoofed_mac) == "spoofed_mac");
  CHECK(to_string(DropReason::spoofed_ip) == "spoofed_ip");
  CHECK(to_string(DropReason::backend_down) == "backend_down");
  CHECK(to_string(DropReason::bad_vnet_hdr) == "bad_vnet_hdr");
  CHECK(to_string(DropReason::count_) == "unknown");
  CHECK(squib::core::k_drop_reason_count == 13);
}

TEST_CASE("DirectionStats counts frames, bytes and non-empty batches", "[core][stats]") {
  DirectionStats stats;
  CHECK(stats.mean_batch() == 0.0);

  stats.add_batch(32, 32 * 1514);
  stats.add_batch(0, 0);  // an empty wakeup is not a batch
  stats.add_batch(1, 60);
  CHECK(stats.frames == 33);
  CHECK(stats.bytes == 32 * 1514 + 60);
  CHECK(stats.batches == 2);
  CHECK(stats.mean_batch() == 16.5);
}

TEST_CASE("AttachmentStats counts drops per reason", "[core][stats]") {
  AttachmentStats stats;
  CHECK(stats.total_drops() == 0);
  stats.drop(DropReason::runt);
  stats.drop(DropReason::runt);
  stats.drop(DropReason::vm_full, 40);
  stats.drop(DropReason::backend_down);
  CHECK(stats.dropped(DropReason::runt) == 2);
  CHECK(stats.dropped(DropReason::vm_full) == 40);
  CHECK(stats.dropped(DropReason::backend_down) == 1);
  CHECK(stats.dropped(DropReason::oversize) == 0);
  CHECK(stats.total_drops() == 43);
}
