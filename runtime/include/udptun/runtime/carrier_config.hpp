// How each end feeds its TCP carrier, the same options for udp-local and udp-server: the
// per-flow queues' delay control (CoDel target and interval), the kernel's unsent-bytes
// mark, and the congestion control. Declared once: the JSON keys, their bounds and the
// command-line options that set them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "udptun/runtime/carrier_queue.hpp"
#include "udptun/runtime/lane_chooser.hpp"
#include "udptun/runtime/option_table.hpp"
#include "udptun/runtime/tcp_stream.hpp"

namespace udptun::runtime {

struct CarrierConfig {
  uint64_t queue_target_ms = 5;
  uint64_t queue_interval_ms = 100;
  uint64_t tcp_notsent_lowat = 16'384;  // the first value; then about 1 ms of sending
  std::string tcp_congestion;           // empty: the system's
  // Keep the path's queue short (DelayController: pacing and an end-to-end window): "on",
  // "off", or "auto": on for a direct carrier, off when the peer is on loopback (ss-tunnel,
  // ss-server, HAProxy on the same machine), whose buffers and Nagle's algorithm (simple-obfs
  // leaves it on) it cannot see through well enough yet: there it cut UDP bulk to a tenth.
  std::string pacing = "auto";
  // With several connections per session: flows below this rate (kbit/s) are sent on two of
  // them, the receiver keeping the first copy (0: never).
  uint64_t duplicate_below_kbps = 256;
  bool controls_delay(bool peer_on_loopback) const {
    return pacing == "on" || (pacing == "auto" && !peer_on_loopback);
  }

  CarrierQueue::Config queue(size_t max_bytes) const {
    CarrierQueue::Config c;
    c.scheduler.max_bytes = max_bytes;
    c.scheduler.target_us = queue_target_ms * 1000;
    c.scheduler.interval_us = queue_interval_ms * 1000;
    // What the stream pulls at a time: as much as the kernel takes at once.
    c.chunk = tcp_notsent_lowat > 0 ? tcp_notsent_lowat : 65'536;
    c.adapt_chunk = tcp_notsent_lowat > 0;
    c.pacing = pacing != "off";
    c.delay.target_us = queue_target_ms * 1000;
    return c;
  }
  LaneChooser::Config lanes() const {
    LaneChooser::Config l;
    // Small flows are those copies are for; with copies off, still those below 256 kbit/s.
    if (duplicate_below_kbps != 0) l.small_below_bps = duplicate_below_kbps * 1000;
    l.copy_small = duplicate_below_kbps != 0;
    return l;
  }
  TcpStream::CarrierOptions socket() const {
    return {tcp_notsent_lowat, tcp_congestion, tcp_notsent_lowat > 0};
  }
};

// The keys above, their flags and documentation.
const OptionList<CarrierConfig>& carrier_options();
// What no one key can check alone: the target below the interval.
Status check_carrier_config(const CarrierConfig& config);

}  // namespace udptun::runtime
