// The carrier socket's kernel side, where the system has it (Linux): options that keep its
// queue short, and what TCP knows of the path (round trips, bytes acknowledged). Elsewhere every
// call says it could not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace udptun::runtime::carrier_socket {

struct PathInfo {
  uint32_t srtt_us = 0;        // smoothed round trip
  uint32_t min_rtt_us = 0;     // the least seen: the path without queues
  uint64_t bytes_acked = 0;    // by the peer, ever: its rate is what the path delivers
  uint64_t unacked_bytes = 0;  // sent, not acknowledged yet
  uint32_t total_retrans = 0;  // segments retransmitted, ever
};

// "" or why not.
std::string set_notsent_lowat(int fd, size_t bytes);
std::string set_congestion(int fd, const std::string& name);
// Acknowledge what arrives at once (TCP_QUICKACK; the kernel falls back to delayed ACKs on
// its own, so this is asked again after each read).
void ask_quick_ack(int fd);
bool read_path_info(int fd, PathInfo& out);

}  // namespace udptun::runtime::carrier_socket
