// Which sequence numbers of a flow have been delivered: the receiving side of SEQUENCED_DATA,
// whose datagrams come twice (once per lane) and must reach the application once. A window
// of the last 64 numbers below the highest seen, as IPsec's anti-replay window (RFC 4303
// §3.4.3): a copy older than that is taken as one already delivered, since both copies travel
// in order on their own connections and the other one must have come first or died with its
// connection.
#pragma once

#include <cstdint>

namespace udptun::protocol {

class SequenceWindow {
 public:
  static constexpr uint32_t kSpan = 64;
  // true the first time `seq` is seen (deliver it), false for a copy or one too old.
  bool first_copy(uint32_t seq);
  // Forget what was seen: the sender may have started numbering again (a new process), and
  // no copy sent before can still arrive (its connections are gone).
  void reset() { started_ = false; }

 private:
  bool started_ = false;
  uint32_t highest_ = 0;
  uint64_t seen_ = 0;  // bit i: highest_ - i was delivered
};

}  // namespace udptun::protocol
