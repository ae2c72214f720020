// The per-flow scheduler alone, with a fake clock and a fake carrier (a byte budget per
// "writable" moment): a sparse flow is never delayed by a heavy one, heavy flows share by
// bytes, CoDel drops a standing queue's oldest datagrams and only those of the flow that
// builds it, the byte budget takes from the longest queue, and nothing is reordered within a
// flow.
#include <cstring>
#include <map>
#include <vector>

#include "cmocka_support.hpp"
#include "udptun/runtime/flow_scheduler.hpp"

using udptun::protocol::ByteView;
using udptun::runtime::FlowScheduler;

namespace {

// Frames as the tests make them: a 5-byte prefix (flow id, sequence number, a marker), then
// `size` bytes of payload.
struct Frames {
  std::vector<uint8_t> prefix = std::vector<uint8_t>(5), payload;
  void make(uint8_t flow, uint32_t seq, size_t size) {
    prefix[0] = flow;
    std::memcpy(&prefix[1], &seq, 4);
    payload.assign(size, flow);
  }
};

// What a carrier took, frame by frame (each frame's flow and sequence number).
struct Carrier {
  std::vector<std::pair<uint8_t, uint32_t>> frames;
  std::map<uint8_t, size_t> bytes;
  void take(FlowScheduler& s, size_t budget, uint64_t now, size_t frame_payload) {
    std::vector<uint8_t> out;
    s.dequeue(out, budget, now);
    size_t off = 0;
    while (off < out.size()) {
      uint8_t flow = out[off];
      uint32_t seq;
      std::memcpy(&seq, &out[off + 1], 4);
      frames.push_back({flow, seq});
      size_t size = 5 + (flow == 1 ? 95 : frame_payload);
      bytes[flow] += size;
      off += size;
    }
    assert_int_equal(off, out.size());
  }
};

}  // namespace

// A bulk flow offers twice what the carrier takes; a game flow sends 100 bytes every 20 ms.
// The game's datagrams leave at the next writable moment after they arrive: never behind
// the bulk's backlog, none dropped. The bulk's excess is dropped by CoDel, from its head.
static void test_sparse_flow_is_never_delayed(void**) {
  FlowScheduler s({});
  Frames f;
  Carrier c;
  uint32_t bulk_seq = 0, game_seq = 0;
  std::map<uint32_t, uint64_t> game_sent;
  uint64_t worst_game_wait = 0;
  // 2 s in 1 ms steps: the carrier takes 2,500 bytes a ms (20 Mbit/s), the bulk offers 5,000.
  for (uint64_t ms = 0; ms < 2000; ++ms) {
    uint64_t now = ms * 1000;
    for (int i = 0; i < 4; ++i) {
      f.make(2, bulk_seq++, 1245);
      s.enqueue(2, ByteView(f.prefix), ByteView(f.payload), now);
    }
    if (ms % 20 == 0) {
      f.make(1, game_seq, 95);
      game_sent[game_seq++] = now;
      s.enqueue(1, ByteView(f.prefix), ByteView(f.payload), now);
    }
    size_t before = c.frames.size();
    c.take(s, 2500, now, 1245);
    for (size_t i = before; i < c.frames.size(); ++i)
      if (c.frames[i].first == 1)
        worst_game_wait = std::max(worst_game_wait, now - game_sent[c.frames[i].second]);
  }
  size_t game_out = 0;
  uint32_t last_bulk = 0;
  for (auto& [flow, seq] : c.frames) {
    if (flow == 1) game_out++;
    if (flow == 2) {
      assert_true(seq >= last_bulk);  // in order, gaps where CoDel dropped
      last_bulk = seq;
    }
  }
  assert_int_equal(game_out, game_seq);         // every game datagram, none dropped
  assert_true(worst_game_wait <= 1000);         // at the next writable moment
  assert_true(s.counters().drops_aged > 1000);  // the bulk's excess went
  // The bulk does not slow down when it loses datagrams: what waited 100 ms goes, so its
  // queue holds 100 ms of what it offers (500 KB), not the 4 MiB budget.
  assert_true(s.queued_bytes() < 520'000);
  assert_int_equal(s.counters().drops_full, 0);
}

// Two heavy flows with different datagram sizes share the carrier by bytes, not datagrams.
static void test_heavy_flows_share_by_bytes(void**) {
  FlowScheduler s({});
  Frames f;
  std::map<uint8_t, size_t> bytes;
  uint32_t seq = 0;
  for (uint64_t ms = 0; ms < 500; ++ms) {
    uint64_t now = ms * 1000;
    for (int i = 0; i < 10; ++i) {
      f.make(3, seq++, 195);  // 200-byte frames
      s.enqueue(3, ByteView(f.prefix), ByteView(f.payload), now);
    }
    for (int i = 0; i < 2; ++i) {
      f.make(4, seq++, 1395);  // 1,400-byte frames
      s.enqueue(4, ByteView(f.prefix), ByteView(f.payload), now);
    }
    std::vector<uint8_t> out;
    s.dequeue(out, 2000, now);
    size_t off = 0;
    while (off < out.size()) {
      size_t size = out[off] == 3 ? 200 : 1400;
      bytes[out[off]] += size;
      off += size;
    }
  }
  double ratio = static_cast<double>(bytes[3]) / static_cast<double>(bytes[4]);
  print_message("    shares: %zu and %zu bytes (ratio %.2f)\n", bytes[3], bytes[4], ratio);
  assert_true(ratio > 0.8 && ratio < 1.25);
}

// CoDel leaves a queue alone while it drains (a burst that waits less than the target, or
// longer but for less than an interval), and drops only once the delay stands.
static void test_codel_tolerates_bursts(void**) {
  FlowScheduler s({});
  Frames f;
  for (uint32_t i = 0; i < 50; ++i) {
    f.make(5, i, 995);
    s.enqueue(5, ByteView(f.prefix), ByteView(f.payload), 0);
  }
  std::vector<uint8_t> out;
  // 50 ms to drain 50 KB: above the 5 ms target, but for less than the 100 ms interval.
  for (uint64_t ms = 1; ms <= 50; ++ms) s.dequeue(out, 1000, ms * 1000);
  assert_int_equal(out.size(), 50'000);
  assert_int_equal(s.counters().drops_aged, 0);
  assert_true(s.empty());
  assert_int_equal(s.dequeue(out, 1000, 51'000), 0);  // the emptied flow is let go
  assert_int_equal(s.active_flows(), 0);
}

// Over the byte budget the longest queue loses its oldest frames; a short queue keeps all.
static void test_budget_takes_from_the_longest_queue(void**) {
  FlowScheduler::Config config;
  config.max_bytes = 100'000;
  FlowScheduler s(config);
  Frames f;
  for (uint32_t i = 0; i < 10; ++i) {
    f.make(6, i, 95);
    s.enqueue(6, ByteView(f.prefix), ByteView(f.payload), 0);
  }
  for (uint32_t i = 0; i < 300; ++i) {
    f.make(7, i, 995);
    s.enqueue(7, ByteView(f.prefix), ByteView(f.payload), 0);
  }
  assert_true(s.queued_bytes() <= 100'000);
  assert_true(s.counters().drops_full > 0);
  std::vector<uint8_t> out;
  s.dequeue(out, 1'000'000, 1000);
  size_t off = 0, small = 0;
  uint32_t first_big = UINT32_MAX;
  while (off < out.size()) {
    uint32_t seq;
    std::memcpy(&seq, &out[off + 1], 4);
    if (out[off] == 6) small++;
    if (out[off] == 7 && first_big == UINT32_MAX) first_big = seq;
    off += out[off] == 6 ? 100 : 1000;
  }
  assert_int_equal(small, 10);
  assert_true(first_big > 0);  // the oldest went, the newest stayed
  // A closed flow's frames go with it, uncounted.
  f.make(8, 0, 95);
  s.enqueue(8, ByteView(f.prefix), ByteView(f.payload), 2000);
  s.forget(8);
  assert_true(s.empty());
}

// The carrier stalls for 300 ms (a lost segment, retransmitted after a timeout): the game's
// few datagrams held meanwhile are late but all delivered; the bulk flow's standing queue
// loses what waited longer than the interval.
static void test_sparse_flow_survives_a_stall(void**) {
  FlowScheduler s({});
  Frames f;
  uint32_t game = 0, bulk = 0;
  for (uint64_t ms = 0; ms < 300; ++ms) {
    if (ms % 20 == 0) {
      f.make(1, game++, 95);
      s.enqueue(1, ByteView(f.prefix), ByteView(f.payload), ms * 1000);
    }
    f.make(2, bulk++, 1245);
    s.enqueue(2, ByteView(f.prefix), ByteView(f.payload), ms * 1000);
  }
  Carrier c;
  c.take(s, 10'000'000, 300'000, 1245);
  size_t games = 0, bulks = 0;
  for (auto& fr : c.frames) (fr.first == 1 ? games : bulks)++;
  assert_int_equal(games, game);
  assert_true(bulks < 110);  // about the last 100 ms of it
  assert_true(s.counters().drops_aged >= 190);
}

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sparse_flow_is_never_delayed),
      cmocka_unit_test(test_heavy_flows_share_by_bytes),
      cmocka_unit_test(test_codel_tolerates_bursts),
      cmocka_unit_test(test_budget_takes_from_the_longest_queue),
      cmocka_unit_test(test_sparse_flow_survives_a_stall),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
