// How much a flow's targets may send back for what the client sent them (a target — or
// anyone, through a full-cone mapping — answering one small datagram with a flood must not
// fill the client's tunnel). In the spirit of QUIC's anti-amplification rule: until the
// client shows it wants the replies, they may total `ratio` times what it sent plus an
// allowance for the first answers (a DNS response, a game handshake). The client shows it by
// sending again after a reply arrived (as a QUIC client's ACKs, a game's inputs, an RTP
// receiver's reports do); from then on, replies pass freely for as long as it keeps sending
// at least once per window. Pure: the caller passes its clock in.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace udptun::udpserver {

class AmplificationGuard {
 public:
  struct Limits {
    uint64_t ratio = 3;  // 0: no guard
    uint64_t allowance_bytes = 32 * 1024;
    uint64_t window_ms = 30'000;
  };
  explicit AmplificationGuard(const Limits& limits)
      : limits_(limits), credit_(static_cast<double>(limits.allowance_bytes)) {}

  // The client sent `bytes` to the flow.
  void on_request(size_t bytes, uint64_t now_ms) {
    if (replied_since_request_) validated_until_ms_ = now_ms + limits_.window_ms;
    replied_since_request_ = false;
    double cap = static_cast<double>(limits_.allowance_bytes + limits_.ratio * kLargestDatagram);
    credit_ = std::min(cap, credit_ + static_cast<double>(limits_.ratio * bytes));
  }
  // A reply of `bytes` arrived: may it go to the client?
  bool admit_reply(size_t bytes, uint64_t now_ms) {
    if (limits_.ratio == 0 || now_ms < validated_until_ms_) {
      replied_since_request_ = true;
      return true;
    }
    if (credit_ < static_cast<double>(bytes)) return false;
    credit_ -= static_cast<double>(bytes);
    replied_since_request_ = true;
    return true;
  }

 private:
  static constexpr uint64_t kLargestDatagram = 65'507;
  Limits limits_;
  double credit_;
  bool replied_since_request_ = false;
  uint64_t validated_until_ms_ = 0;
};

}  // namespace udptun::udpserver
