#include "udptun/protocol/socks5_reassembly.hpp"

#include <algorithm>

namespace udptun::protocol::socks5 {

void Reassembler::reset() {
  highest_ = 0;
  broken_ = false;
  if (budget_) budget_->held -= std::min(budget_->held, buffer_.size());
  buffer_.clear();
  if (buffer_.capacity() > 4096) buffer_.shrink_to_fit();  // an idle association holds little
}

void Reassembler::release() {
  whole_.clear();
  whole_.shrink_to_fit();
}

Reassembler::Whole Reassembler::add(const UdpHeader& h, uint64_t now_ms) {
  Whole out;
  if (h.fragment == 0) {
    out.complete = true;
    out.address = h.address;
    out.payload = h.payload;
    return out;
  }
  expire(now_ms);
  uint8_t position = h.fragment & 0x7F;
  bool last = (h.fragment & 0x80) != 0;
  if (position == 0) {  // 0x80 alone: a "last" fragment with no position
    counters_.dropped++;
    return out;
  }
  if (highest_ != 0 && position <= highest_) {
    // A new sequence begins (the RFC: a FRAG value lower than the highest processed).
    counters_.abandoned++;
    reset();
  }
  if (highest_ == 0) {
    if (position != 1) {  // the start is missing: this sequence can never be whole
      counters_.dropped++;
      return out;
    }
    started_ms_ = now_ms;
    address_ = h.address;
  } else if (position != highest_ + 1) {
    counters_.abandoned++;
    counters_.dropped++;
    reset();
    return out;
  }
  highest_ = position;
  if (broken_) {
    counters_.dropped++;
    if (last) reset();
    return out;
  }
  bool over_budget = budget_ && budget_->held + h.payload.size > budget_->limit;
  if (buffer_.size() + h.payload.size > max_bytes_ || over_budget) {
    counters_.dropped++;
    if (budget_) budget_->held -= std::min(budget_->held, buffer_.size());
    std::vector<uint8_t>().swap(buffer_);  // its memory too: a broken sequence holds nothing
    broken_ = true;  // what follows of it is dropped too, until it ends or another begins
    if (last) reset();
    return out;
  }
  buffer_.insert(buffer_.end(), h.payload.data, h.payload.data + h.payload.size);
  if (budget_) budget_->held += h.payload.size;
  if (!last) return out;
  if (budget_) budget_->held -= std::min(budget_->held, buffer_.size());
  whole_.swap(buffer_);
  counters_.reassembled++;
  out.complete = true;
  out.address = address_;
  out.payload = ByteView(whole_);
  reset();
  return out;
}

bool Reassembler::expire(uint64_t now_ms) {
  if (highest_ == 0 || now_ms - started_ms_ < timeout_ms_) return false;
  counters_.timed_out++;
  reset();
  return true;
}

}  // namespace udptun::protocol::socks5
