// SOCKS5 UDP fragment reassembly (RFC 1928 §7), one queue per association. FRAG 0 is a whole
// datagram; 1..127 is a fragment's position, with the high bit (0x80) on the last one. A
// sequence must arrive in order: a position lower than (or equal to) the highest seen starts
// over (the RFC's rule), one that skips a position can never complete and ends the sequence.
// The caller owns time: it passes its clock in, and calls expire() from a timer (the RFC's
// reassembly timer, no less than 5 s). Bounded: a sequence larger than max_bytes is dropped,
// and the bytes every reassembler sharing a ReassemblyBudget holds are capped together (a
// thousand associations each with a sequence pending must not make a thousand of them).
#pragma once

#include <cstdint>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/socks5.hpp"

namespace udptun::protocol::socks5 {

struct ReassemblyCounters {
  uint64_t reassembled = 0;  // datagrams made whole from fragments
  uint64_t timed_out = 0;    // sequences given up by the timer
  uint64_t abandoned = 0;    // sequences ended by a restart or a skipped position
  uint64_t dropped = 0;      // fragments dropped: over the byte cap, or of a broken sequence
};

// Bytes held by every reassembler that shares it (one event loop: no lock).
struct ReassemblyBudget {
  size_t limit = 4u << 20;
  size_t held = 0;
};

class Reassembler {
 public:
  static constexpr uint64_t kMinTimeoutMs = 5'000;  // RFC 1928: no less than 5 seconds
  Reassembler(size_t max_bytes, uint64_t timeout_ms, ReassemblyCounters& counters,
              ReassemblyBudget* budget = nullptr)
      : max_bytes_(max_bytes), timeout_ms_(timeout_ms), counters_(counters), budget_(budget) {}
  ~Reassembler() { reset(); }
  Reassembler(const Reassembler&) = delete;
  Reassembler& operator=(const Reassembler&) = delete;

  struct Whole {
    bool complete = false;
    Address address;   // the first fragment's destination (or source, for replies)
    ByteView payload;  // valid until the next call
  };
  // One datagram's header and payload: a whole datagram when it completes one (or was one).
  Whole add(const UdpHeader& header, uint64_t now_ms);
  // The caller is done with the last whole datagram: its memory goes back.
  void release();
  // The timer: a sequence older than the timeout is given up (true when one was).
  bool expire(uint64_t now_ms);
  bool pending() const { return highest_ != 0; }
  size_t held_bytes() const { return buffer_.size(); }

 private:
  void reset();

  size_t max_bytes_;
  uint64_t timeout_ms_;
  ReassemblyCounters& counters_;
  ReassemblyBudget* budget_;
  uint8_t highest_ = 0;  // 0: no sequence in progress
  bool broken_ = false;  // the sequence overflowed: its remaining fragments are dropped
  uint64_t started_ms_ = 0;
  Address address_;
  std::vector<uint8_t> buffer_;
  std::vector<uint8_t> whole_;
};

}  // namespace udptun::protocol::socks5
