// Tests of squib/core/frame_pool.hpp: one allocation, fixed geometry, slots that never
// overlap (the data path writes a frame into each without allocating).

#include <squib/core/frame_pool.hpp>

#include <cstdint>

#include "support/catch.hpp"

using squib::core::FramePool;

TEST_CASE("FramePool geometry is what it was built with", "[core][frame_pool]") {
  SECTION("32 slots of 1522 bytes (a batch of MTU 1500 frames with a VLAN tag)") {
    FramePool pool(32, 1522);
    CHECK(pool.slot_count() == 32);
    CHECK(pool.slot_size() == 1522);
    for (std::size_t i = 0; i < pool.slot_count(); ++i) CHECK(pool.slot(i).size() == 1522);
  }
  SECTION("a single one-byte slot") {
    FramePool pool(1, 1);
    CHECK(pool.slot_count() == 1);
    CHECK(pool.slot(0).size() == 1);
  }
}

TEST_CASE("FramePool slots are distinct, adjacent and non-overlapping", "[core][frame_pool]") {
  FramePool pool(8, 100);

  SECTION("slot i+1 starts exactly where slot i ends") {
    for (std::size_t i = 0; i + 1 < pool.slot_count(); ++i) {
      CHECK(pool.slot(i).data() + pool.slot_size() == pool.slot(i + 1).data());
    }
  }
  SECTION("the same index gives the same memory every time") {
    CHECK(pool.slot(3).data() == pool.slot(3).data());
  }
  SECTION("filling every slot with its own byte leaves every other slot intact") {
    for (std::size_t i = 0; i < pool.slot_count(); ++i) {
      for (auto& b : pool.slot(i)) b = static_cast<std::byte>(0xa0 + i);
    }
    for (std::size_t i = 0; i < pool.slot_count(); ++i) {
      INFO("slot " << i);
      for (const auto b : pool.slot(i)) REQUIRE(b == static_cast<std::byte>(0xa0 + i));
    }
  }
}
