#include "udptun/runtime/flow_scheduler.hpp"

#include <algorithm>
#include <cmath>

namespace udptun::runtime {

namespace {
// A queue holding no more than this is not a standing queue of its own flow: CoDel never
// drops from it (RFC 8289's MTU test, widened), nor does age. A game or a call held while the
// carrier stalls behind a lost segment (a retransmission timeout: 15 of a game's datagrams
// in 300 ms) is late, not too fast; a flow over its share queues far more.
constexpr size_t kNoStandingQueue = 8 * 1024;
}  // namespace

FlowScheduler::FlowScheduler(const Config& config) : config_(config) {}

void FlowScheduler::enqueue(uint32_t flow, protocol::ByteView prefix, protocol::ByteView payload,
                            uint64_t now_us) {
  FlowQueue& q = flows_[flow];
  // Frames are appended to one buffer per flow; the part already sent is cut off once it is
  // most of the buffer, so a busy queue does not reallocate per datagram.
  if (q.head > 0 && q.head >= q.bytes.size() / 2) {
    q.bytes.erase(q.bytes.begin(), q.bytes.begin() + static_cast<std::ptrdiff_t>(q.head));
    q.head = 0;
  }
  q.bytes.insert(q.bytes.end(), prefix.data, prefix.data + prefix.size);
  q.bytes.insert(q.bytes.end(), payload.data, payload.data + payload.size);
  uint32_t size = static_cast<uint32_t>(prefix.size + payload.size);
  q.frames.push_back({now_us, size});
  bytes_ += size;
  if (q.list == FlowQueue::List::none) {
    // A flow that had nothing queued (a game, a call, DNS: sparse) goes first; its quantum
    // bounds what that lets it take before it is one of the others.
    q.list = FlowQueue::List::fresh;
    q.deficit = config_.quantum;
    new_flows_.push_back(flow);
  }
  while (bytes_ > config_.max_bytes) drop_from_longest();
}

void FlowScheduler::pop(FlowQueue& q, std::vector<uint8_t>* out) {
  Frame f = q.frames.front();
  q.frames.pop_front();
  if (out) {
    const uint8_t* p = q.bytes.data() + q.head;
    out->insert(out->end(), p, p + f.size);
  }
  q.head += f.size;
  bytes_ -= f.size;
  if (q.frames.empty()) {
    q.bytes.clear();
    q.head = 0;
  }
}

void FlowScheduler::drop_from_longest() {
  // fq_codel's answer to overflow: the flow with the most bytes queued is the one over its
  // share; half of its queue (its oldest) goes at once, so this scan is rare.
  FlowQueue* longest = nullptr;
  for (const auto* list : {&new_flows_, &old_flows_}) {
    for (uint32_t id : *list) {
      FlowQueue& q = flows_[id];
      if (!longest || q.queued() > longest->queued()) longest = &q;
    }
  }
  if (!longest || longest->frames.empty()) return;
  size_t goal = longest->queued() / 2;
  do {
    pop(*longest, nullptr);
    counters_.drops_full++;
  } while (!longest->frames.empty() && longest->queued() > goal);
}

uint64_t FlowScheduler::control_law(uint64_t t, uint32_t count) const {
  return t + static_cast<uint64_t>(static_cast<double>(config_.interval_us) /
                                   std::sqrt(static_cast<double>(std::max<uint32_t>(count, 1))));
}

bool FlowScheduler::ok_to_drop(FlowQueue& q, uint64_t now_us) {
  uint64_t sojourn = now_us - std::min(now_us, q.frames.front().enqueued_us);
  if (sojourn < config_.target_us || q.queued() <= kNoStandingQueue) {
    q.first_above_us = 0;
    return false;
  }
  if (q.first_above_us == 0) {
    q.first_above_us = now_us + config_.interval_us;
    return false;
  }
  return now_us >= q.first_above_us;
}

bool FlowScheduler::codel_head(FlowQueue& q, uint64_t now_us) {
  // CoDel's drop rate rises slowly (with the square root of the drops): right for a flow that
  // slows down when it loses datagrams, not for one that does not (most UDP). Whatever has
  // waited a whole interval goes, so no flow's datagrams wait longer than that — unless the
  // flow has no standing queue of its own (kNoStandingQueue).
  while (q.queued() > kNoStandingQueue &&
         now_us - std::min(now_us, q.frames.front().enqueued_us) > config_.interval_us) {
    pop(q, nullptr);
    counters_.drops_aged++;
  }
  if (q.frames.empty()) return false;
  bool drop = ok_to_drop(q, now_us);
  if (q.dropping) {
    if (!drop) {
      q.dropping = false;
    } else {
      while (q.dropping && now_us >= q.drop_next_us) {
        pop(q, nullptr);
        counters_.drops_aged++;
        q.drop_count++;
        if (q.frames.empty() || !ok_to_drop(q, now_us))
          q.dropping = false;
        else
          q.drop_next_us = control_law(q.drop_next_us, q.drop_count);
      }
    }
  } else if (drop) {
    pop(q, nullptr);
    counters_.drops_aged++;
    q.dropping = true;
    // Dropping again soon after the last episode: start near where it left off.
    uint32_t delta = q.drop_count - q.last_drop_count;
    q.drop_count = delta > 1 && now_us - q.drop_next_us < 16 * config_.interval_us ? delta : 1;
    q.last_drop_count = q.drop_count;
    q.drop_next_us = control_law(now_us, q.drop_count);
  }
  return !q.frames.empty();
}

size_t FlowScheduler::dequeue(std::vector<uint8_t>& out, size_t budget, uint64_t now_us) {
  size_t taken = 0;
  while (taken == 0 || taken < budget) {
    std::list<uint32_t>& list = !new_flows_.empty() ? new_flows_ : old_flows_;
    if (list.empty()) break;
    uint32_t id = list.front();
    FlowQueue& q = flows_[id];
    if (q.deficit <= 0) {  // its turn is over: to the back of the old ones, a new quantum
      q.deficit += config_.quantum;
      q.list = FlowQueue::List::old;
      old_flows_.splice(old_flows_.end(), list, list.begin());
      continue;
    }
    if (!codel_head(q, now_us)) {
      // Empty. A new flow waits its turn among the old ones before it can be new again.
      if (&list == &new_flows_ && !old_flows_.empty()) {
        q.list = FlowQueue::List::old;
        old_flows_.splice(old_flows_.end(), list, list.begin());
      } else {
        list.pop_front();
        flows_.erase(id);  // its memory goes: an idle flow costs nothing here
      }
      continue;
    }
    const Frame& f = q.frames.front();
    (shared_sojourn_ ? *shared_sojourn_ : sojourn_)
        .observe(static_cast<double>(now_us - std::min(now_us, f.enqueued_us)) / 1e6);
    q.deficit -= f.size;
    taken += f.size;
    pop(q, &out);
  }
  return taken;
}

void FlowScheduler::forget(uint32_t flow) {
  auto it = flows_.find(flow);
  if (it == flows_.end()) return;
  bytes_ -= it->second.queued();
  if (it->second.list == FlowQueue::List::fresh) new_flows_.remove(flow);
  if (it->second.list == FlowQueue::List::old) old_flows_.remove(flow);
  flows_.erase(it);
}

void FlowScheduler::clear() {
  flows_.clear();
  new_flows_.clear();
  old_flows_.clear();
  bytes_ = 0;
}

}  // namespace udptun::runtime
