// Which lane a datagram takes, and when it takes two: runtime/lane_chooser.cpp with a clock
// passed in.
#include "cmocka_support.hpp"
#include "udptun/runtime/lane_chooser.hpp"

using udptun::runtime::LaneChooser;

static LaneChooser chooser(unsigned lanes, uint64_t below_bps = 256'000, bool sequenced = true) {
  LaneChooser::Config c;
  c.duplicate_below_bps = below_bps;
  LaneChooser l(c);
  l.set_lanes(lanes, sequenced);
  return l;
}

static void test_one_lane_never_copies(void**) {
  LaneChooser l = chooser(1);
  for (uint32_t flow = 0; flow < 10; ++flow) {
    auto c = l.choose(flow, 100, 1000, 0x1);
    assert_int_equal(c.lane, 0);
    assert_int_equal(c.copy_lane, -1);
    assert_false(c.sequenced);
  }
  assert_int_equal(l.tracked(), 0);
}

static void test_a_flow_keeps_to_its_lane_or_the_first_up(void**) {
  LaneChooser l = chooser(4, 0);  // no copies
  for (uint32_t flow = 0; flow < 8; ++flow) {
    assert_int_equal(l.choose(flow, 1200, 0, 0xF).lane, static_cast<int>(flow % 4));
    assert_int_equal(l.home_lane(flow, 0xF), static_cast<int>(flow % 4));
  }
  // Lane 2 down: its flows take the first lane up; lane 0 down too: lane 1.
  assert_int_equal(l.choose(6, 1200, 0, 0xB).lane, 0);
  assert_int_equal(l.home_lane(6, 0xA), 1);
  assert_int_equal(l.choose(5, 1200, 0, 0xA).lane, 1);
}

static void test_small_flow_is_copied_and_numbered(void**) {
  LaneChooser l = chooser(2);
  uint32_t expect_seq = 0;
  for (uint64_t t = 0; t < 2000; t += 20) {
    auto c = l.choose(7, 100, t, 0x3);
    assert_true(c.sequenced);
    assert_int_equal(c.seq, expect_seq++);
    assert_true(c.copy_lane >= 0);
    assert_int_not_equal(c.lane, c.copy_lane);
    if (t < 500) assert_int_equal(c.lane, 1);  // new: one copy on its own lane (7 % 2)
  }
  // One lane down: no copy, no number.
  auto c = l.choose(7, 100, 2000, 0x1);
  assert_int_equal(c.copy_lane, -1);
  assert_false(c.sequenced);
}

static void test_bulk_flow_is_not_copied(void**) {
  LaneChooser l = chooser(2);
  int copied = 0;
  // 30 Mbit/s of 1,200-byte datagrams: copied only until its first 16 KB.
  for (uint64_t i = 0; i < 5000; ++i) {
    auto c = l.choose(3, 1200, i / 3, 0x3);
    if (c.copy_lane >= 0) copied++;
  }
  assert_true(copied > 0 && copied <= 14);
  // A peer without SEQUENCED_DATA, or copies turned off: never.
  LaneChooser old_peer = chooser(2, 256'000, false);
  LaneChooser off = chooser(2, 0);
  for (uint64_t t = 0; t < 2000; t += 20) {
    assert_int_equal(old_peer.choose(1, 100, t, 0x3).copy_lane, -1);
    assert_int_equal(off.choose(1, 100, t, 0x3).copy_lane, -1);
  }
}

// With three lanes and a bulk flow on one, a settled game keeps off the bulk flow's lane.
static void test_copies_keep_off_the_busy_lane(void**) {
  LaneChooser l = chooser(3);
  int on_busy = 0, settled = 0;
  for (uint64_t t = 0; t < 3000; ++t) {
    l.choose(4, 1200, t, 0x7);  // bulk: flow 4, lane 1, 1,200 B per ms
    if (t % 20 == 0) {
      auto c = l.choose(1, 100, t, 0x7);  // the game's own lane is lane 1 too
      if (t >= 600) {
        settled++;
        if (c.lane == 1 || c.copy_lane == 1) on_busy++;
      }
    }
  }
  assert_true(settled > 100);
  assert_int_equal(on_busy, 0);
  l.forget(1);
  l.forget(4);
  assert_int_equal(l.tracked(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_lane_never_copies),
      cmocka_unit_test(test_a_flow_keeps_to_its_lane_or_the_first_up),
      cmocka_unit_test(test_small_flow_is_copied_and_numbered),
      cmocka_unit_test(test_bulk_flow_is_not_copied),
      cmocka_unit_test(test_copies_keep_off_the_busy_lane),
  };
  return cmocka_run_group_tests_name("lane chooser", tests, nullptr, nullptr);
}
