// Where a datagram waits when the carrier is full: one queue per flow, served in turn by
// bytes (deficit round robin), each queue kept short by CoDel (RFC 8289): once its datagrams
// have waited longer than `target` for a whole `interval`, it drops from its head, faster
// while that lasts. A flow below its fair share (a game, a call, DNS) is never delayed by one
// above it, and what a full link cannot carry is dropped from the flow that sends too much,
// oldest first: what a good router does. Over the byte budget the longest queue loses its
// oldest datagrams. No I/O and no clock of its own: the caller gives the time (tests, a fake
// clock) and pulls frames when its carrier can take them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <unordered_map>
#include <vector>

#include "udptun/protocol/bytes.hpp"
#include "udptun/runtime/prometheus_text.hpp"

namespace udptun::runtime {

class FlowScheduler {
 public:
  struct Config {
    size_t max_bytes = 4u << 20;     // all queues together
    uint32_t quantum = 1514;         // bytes a flow may send per turn
    uint64_t target_us = 5'000;      // CoDel: the standing delay tolerated…
    uint64_t interval_us = 100'000;  // …for this long before dropping
  };
  struct Counters {
    uint64_t drops_aged = 0;  // CoDel dropped them: waited too long
    uint64_t drops_full = 0;  // over the byte budget
  };

  explicit FlowScheduler(const Config& config);

  // Queues one frame of `flow`, already encoded (prefix, then payload). Always accepted: over
  // the budget, the longest queue (maybe this one) loses its oldest frames.
  void enqueue(uint32_t flow, protocol::ByteView prefix, protocol::ByteView payload,
               uint64_t now_us);
  // Appends whole frames to `out`, taking turns among flows, until `budget` bytes are
  // reached (at least one frame if any is queued) or every queue is empty; drops the heads
  // CoDel says to. Returns the bytes appended.
  size_t dequeue(std::vector<uint8_t>& out, size_t budget, uint64_t now_us);
  // A flow closed: its queued frames go (not counted as drops).
  void forget(uint32_t flow);
  void clear();

  bool empty() const { return bytes_ == 0; }
  size_t queued_bytes() const { return bytes_; }
  size_t active_flows() const { return new_flows_.size() + old_flows_.size(); }
  const Counters& counters() const { return counters_; }
  // How long dequeued frames waited, in seconds (into `shared` instead of its own, when
  // given: an owner of many schedulers keeps one histogram that outlives them).
  const Histogram& sojourn() const { return shared_sojourn_ ? *shared_sojourn_ : sojourn_; }
  void share_sojourn(Histogram* shared) { shared_sojourn_ = shared; }
  static Histogram new_sojourn_histogram() {
    return Histogram({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1});
  }

 private:
  struct Frame {
    uint64_t enqueued_us;
    uint32_t size;
  };
  struct FlowQueue {
    std::vector<uint8_t> bytes;  // frames back to back, from `head`
    size_t head = 0;
    std::deque<Frame> frames;
    int64_t deficit = 0;
    enum class List { none, fresh, old } list = List::none;
    // CoDel's state (RFC 8289 §5)
    uint64_t first_above_us = 0;
    uint64_t drop_next_us = 0;
    uint32_t drop_count = 0;
    uint32_t last_drop_count = 0;
    bool dropping = false;
    size_t queued() const { return bytes.size() - head; }
  };

  // Removes the head frame of `q` (copied into `out` when given).
  void pop(FlowQueue& q, std::vector<uint8_t>* out);
  // CoDel's verdict on q's head at `now`: whether it waited long enough, for long enough.
  bool ok_to_drop(FlowQueue& q, uint64_t now_us);
  // The head to send, after the drops CoDel asks for; false when q emptied.
  bool codel_head(FlowQueue& q, uint64_t now_us);
  uint64_t control_law(uint64_t t, uint32_t count) const;
  void drop_from_longest();

  Config config_;
  std::unordered_map<uint32_t, FlowQueue> flows_;
  // fq_codel's two lists: flows that just got something to send (served first: sparse flows
  // live here), and the others in turn. A flow moves to the old list when its quantum is
  // spent or its queue empties, so a flow cannot stay "new" by emptying each time.
  std::list<uint32_t> new_flows_, old_flows_;
  size_t bytes_ = 0;
  Counters counters_;
  Histogram sojourn_ = new_sojourn_histogram();
  Histogram* shared_sojourn_ = nullptr;
};

}  // namespace udptun::runtime
