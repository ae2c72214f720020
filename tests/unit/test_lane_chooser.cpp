// Which lane a datagram takes, and when it takes two: runtime/lane_chooser.cpp with a clock
// passed in.
#include "cmocka_support.hpp"
#include "udptun/runtime/lane_chooser.hpp"

using udptun::runtime::LaneChooser;

static LaneChooser chooser(unsigned lanes, bool copies = true, bool sequenced = true) {
  LaneChooser::Config c;
  c.copy_small = copies;
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

// Bulk flows share the first lane (one scheduler, one pacer); control frames take it too.
static void test_bulk_flows_share_the_first_lane(void**) {
  LaneChooser l = chooser(4);
  int copied = 0;
  for (uint64_t i = 0; i < 6000; ++i) {
    uint32_t flow = static_cast<uint32_t>(i % 4);  // four flows, 30 Mbit/s each
    auto c = l.choose(flow, 1200, i / 12, 0xF);
    if (c.copy_lane >= 0) copied++;
    if (i > 200) assert_int_equal(c.lane, 0);  // past their first 16 KB
  }
  assert_true(copied <= 4 * 14);  // a bulk flow is copied only until its first 16 KB
  assert_int_equal(l.control_lane(0xF), 0);
  // The first lane down: the first one up takes its place.
  assert_int_equal(l.choose(1, 1200, 500, 0xE).lane, 1);
  assert_int_equal(l.control_lane(0xC), 2);
}

// A game: from its first datagram, two copies on the two quietest lanes after the first,
// numbered; never beside the bulk.
static void test_small_flow_keeps_off_the_bulk_lane(void**) {
  LaneChooser l = chooser(4);
  uint32_t expect_seq = 0;
  for (uint64_t t = 0; t < 3000; ++t) {
    l.choose(8, 1200, t, 0xF);  // bulk beside it, 9.6 Mbit/s
    if (t % 20 != 0) continue;
    auto c = l.choose(7, 100, t, 0xF);
    assert_true(c.sequenced);
    assert_int_equal(c.seq, expect_seq++);
    assert_true(c.copy_lane >= 0 && c.copy_lane != c.lane);
    assert_true(c.lane != 0 && c.copy_lane != 0);
  }
  // Only the first lane and one other up: the copies take both.
  auto c = l.choose(7, 100, 3000, 0x5);
  assert_true((c.lane == 0 && c.copy_lane == 2) || (c.lane == 2 && c.copy_lane == 0));
  // Only the first lane: no copy, no number.
  c = l.choose(7, 100, 3001, 0x1);
  assert_int_equal(c.copy_lane, -1);
  assert_false(c.sequenced);
}

// A burst: every datagram of a window on the same two lanes, so each lane carries every
// number (a lane that got only some of them could run more than the receiver's window ahead
// of the other, whose copies would then be taken as too old: lost).
static void test_a_burst_keeps_its_pair(void**) {
  LaneChooser l = chooser(4);
  auto first = l.choose(5, 100, 0, 0xF);
  for (int i = 1; i < 40; ++i) {  // 40 x 100 B in one ms: still below 256 kbit/s per window
    auto c = l.choose(5, 100, 0, 0xF);
    assert_int_equal(c.lane, first.lane);
    assert_int_equal(c.copy_lane, first.copy_lane);
  }
  // A lane of the pair goes down: a new pair at once, without it.
  uint32_t up = 0xF & ~(1u << first.lane);
  auto c = l.choose(5, 100, 1, up);
  assert_true(c.lane != first.lane && c.copy_lane != first.lane && c.copy_lane >= 0);
}

// Copies off (or a peer without SEQUENCED_DATA): a small flow takes a lane of its own among
// the others, never the first.
static void test_small_flow_without_copies(void**) {
  for (LaneChooser l : {chooser(3, false), chooser(3, true, false)}) {
    for (uint64_t t = 0; t < 2000; t += 20) {
      auto c = l.choose(4, 100, t, 0x7);
      assert_int_equal(c.copy_lane, -1);
      assert_false(c.sequenced);
      assert_int_equal(c.lane, 1 + 4 % 2);
    }
    l.forget(4);
    assert_int_equal(l.tracked(), 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_lane_never_copies),
      cmocka_unit_test(test_bulk_flows_share_the_first_lane),
      cmocka_unit_test(test_small_flow_keeps_off_the_bulk_lane),
      cmocka_unit_test(test_a_burst_keeps_its_pair),
      cmocka_unit_test(test_small_flow_without_copies),
  };
  return cmocka_run_group_tests_name("lane chooser", tests, nullptr, nullptr);
}
