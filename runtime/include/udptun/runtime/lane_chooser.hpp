// Which of a session's connections ("lanes") a datagram takes, and whether it takes two.
// Over TCP a lost segment holds every byte behind it on its connection for a round trip or
// more, so flows are placed by what they need:
// - bulk flows (at or above `small_below_bps`, measured over half-second windows) share the
//   first lane: one per-flow scheduler keeps them fair to each other and one pacer keeps the
//   path's queue short, as with a single connection;
// - small flows (games, calls, DNS) keep off it, on the other lanes, so they never wait
//   behind bulk data or a bulk flow's losses; with copies on, each datagram goes on two of
//   them, with a sequence number, and the receiver keeps the first copy: it waits for a
//   retransmission only when both lost a segment. A flow keeps its pair (the two that carried
//   the fewest bytes when it was picked) for half a second at a time, so both carry every
//   number: the first copies then arrive in order, and the later ones are all duplicates.
// A new flow counts as small until it shows otherwise (a bulk flow's first 16 KB are copied,
// which costs little): from its first datagram it never shares a connection with bulk data,
// and it changes connections only if it turns out to be bulk. (udp-local sends a flow's
// OPEN_FLOW on every lane up, so whichever lane its datagrams take, they come after it.) A
// lane that is down is replaced by the first one up. The same at both ends, each for what it
// sends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace udptun::runtime {

class LaneChooser {
 public:
  struct Config {
    uint64_t small_below_bps = 256'000;     // a flow below this rate is small
    bool copy_small = true;                 // send small flows' datagrams on two lanes
    size_t duplicate_max_payload = 16'384;  // larger datagrams are never copied
  };
  struct Choice {
    int lane = 0;
    int copy_lane = -1;      // >= 0: also send it there
    bool sequenced = false;  // send as SEQUENCED_DATA with `seq`
    uint32_t seq = 0;
  };
  static constexpr uint64_t kWindowMs = 500;
  static constexpr unsigned kMaxLanes = 32;  // `up` is a 32-bit mask

  explicit LaneChooser(Config config) : config_(config) {}
  // The lanes agreed with the peer (1: no lanes), and whether it takes SEQUENCED_DATA. A
  // flow's numbers go on rising across agreements: the peer may keep its window.
  void set_lanes(unsigned count, bool sequenced);
  unsigned lanes() const { return lanes_; }
  // `up`: bit i set while lane i can carry frames (bit 0 is the session's first connection).
  Choice choose(uint32_t flow, size_t payload, uint64_t now_ms, uint32_t up);
  // Control frames (close, status, lanes) take the first lane up.
  int control_lane(uint32_t up) const { return first_up(up); }
  void forget(uint32_t flow) { flows_.erase(flow); }
  size_t tracked() const { return flows_.size(); }

 private:
  struct FlowRate {
    uint64_t window_start_ms = 0;
    uint64_t bytes_now = 0, bytes_before = 0;  // this window's, the last one's
    uint32_t next_seq = 0;
    int pair[2] = {-1, -1};  // its two lanes while copied
    uint64_t pair_ms = 0;    // when they were picked
  };
  bool is_small(const FlowRate& f) const;
  int first_up(uint32_t up) const;
  // The two lanes after the first that carried the fewest bytes lately (-1: none up).
  void quietest_pair(uint32_t up, int& first, int& second) const;
  void count_lane(int lane, size_t bytes, uint64_t now_ms);

  Config config_;
  unsigned lanes_ = 1;
  bool sequenced_ = false;
  std::unordered_map<uint32_t, FlowRate> flows_;
  uint64_t lane_bytes_[kMaxLanes] = {};  // assigned lately, halved every window
  uint64_t lanes_decayed_ms_ = 0;
};

}  // namespace udptun::runtime
