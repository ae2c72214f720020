#include "udptun/protocol/sequence_window.hpp"

namespace udptun::protocol {

bool SequenceWindow::first_copy(uint32_t seq) {
  if (!started_) {
    started_ = true;
    highest_ = seq;
    seen_ = 1;
    return true;
  }
  // Serial-number arithmetic (RFC 1982): the counter wraps after 2^32 datagrams.
  auto ahead = static_cast<int32_t>(seq - highest_);
  if (ahead > 0) {
    seen_ = static_cast<uint32_t>(ahead) >= kSpan ? 0 : seen_ << ahead;
    seen_ |= 1;
    highest_ = seq;
    return true;
  }
  auto behind = static_cast<uint32_t>(-static_cast<int64_t>(ahead));
  if (behind >= kSpan) return false;
  uint64_t bit = uint64_t{1} << behind;
  if (seen_ & bit) return false;
  seen_ |= bit;
  return true;
}

}  // namespace udptun::protocol
