// Which of a session's connections ("lanes") a flow's datagram takes, and whether it takes
// two. A flow lives on one lane (its id modulo the lane count, or the first lane up when
// that one is not), so its datagrams stay in order and a loss on one connection holds only
// the flows of that lane. A small flow — below `duplicate_below_bps`, measured over half a
// second: games, calls, DNS — is sent on two lanes with a sequence number; the receiver keeps
// the first copy, so a datagram waits for a retransmission only when both connections lost
// a segment at once. The two are the lanes that carried the fewest bytes lately: a busy lane
// loses segments more often (more of them) and its losses hold more behind them, so with
// three lanes or more a game keeps off the lane of a bulk flow. The same at both ends (each
// for what it sends).
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace udptun::runtime {

class LaneChooser {
 public:
  struct Config {
    uint64_t duplicate_below_bps = 256'000;  // 0: never duplicate
    size_t duplicate_max_payload = 16'384;   // larger datagrams are never copied
    // A new flow's first copies keep one on the flow's own lane, behind its OPEN_FLOW (the
    // peer drops a copy that overtakes it); after this, any two lanes.
    uint64_t settle_ms = 500;
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
  // Control frames of a flow (open, close, status) go where its datagrams go.
  int home_lane(uint32_t flow, uint32_t up) const;
  void forget(uint32_t flow) { flows_.erase(flow); }
  size_t tracked() const { return flows_.size(); }

 private:
  struct FlowRate {
    uint64_t first_ms = 0;
    uint64_t window_start_ms = 0;
    uint64_t bytes_now = 0, bytes_before = 0;  // this window's, the last one's
    uint32_t next_seq = 0;
  };
  bool is_small(const FlowRate& f) const;
  void count_lane(int lane, size_t bytes, uint64_t now_ms);

  Config config_;
  unsigned lanes_ = 1;
  bool sequenced_ = false;
  std::unordered_map<uint32_t, FlowRate> flows_;
  uint64_t lane_bytes_[kMaxLanes] = {};  // assigned lately, halved every window
  uint64_t lanes_decayed_ms_ = 0;
};

}  // namespace udptun::runtime
