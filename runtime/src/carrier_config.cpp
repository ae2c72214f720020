#include "udptun/runtime/carrier_config.hpp"

namespace udptun::runtime {

const OptionList<CarrierConfig>& carrier_options() {
  using C = CarrierConfig;
  // Made on first use: the daemons' tables are built from it, maybe before this file's statics.
  static const OptionList<C> options = {
      {"--queue-target-ms", "queue_target_ms", "MS", number(&C::queue_target_ms, 1, 10'000),
       "when the carrier is full, datagrams wait in one queue per flow, served in turn; a queue "
       "whose datagrams keep waiting longer than this drops its oldest (CoDel)",
       "the standing delay tolerated: a flow's queue whose datagrams keep waiting longer than "
       "this, for a whole interval, drops from its head (oldest first, faster while it lasts: "
       "CoDel); also the queuing delay on the path the pacing aims for. Below "
       "`queue_interval_ms`"},
      {"--queue-interval-ms", "queue_interval_ms", "MS", number(&C::queue_interval_ms, 10, 60'000),
       "... once that has lasted this long; nothing waits longer than this",
       "… that interval; and nothing waits longer than it: a flow that does not slow down when "
       "it loses datagrams (most UDP) loses what waited this long. Over `max_queued_bytes` in "
       "all, the longest queue loses its oldest half"},
      {"--tcp-notsent-lowat", "tcp_notsent_lowat", "BYTES",
       number(&C::tcp_notsent_lowat, 0, 1u << 30),
       "the kernel holds about this many unsent bytes of the carrier (TCP_NOTSENT_LOWAT), then "
       "about 1 ms of sending once the rate is known, so the queue stays where it is scheduled "
       "(0: the kernel's default, unbounded)",
       "the kernel keeps about this many unsent bytes of the carrier (`TCP_NOTSENT_LOWAT`), then "
       "about 1 ms of sending once the rate is known (4 KiB..256 KiB), so the queue stays where "
       "it is scheduled; 0: the kernel's default (its whole send buffer, seconds on a slow "
       "link)"},
      {"--pacing", "pacing", "MODE",
       choice(&C::pacing, {{"auto", "auto"}, {"on", "on"}, {"off", "off"}}),
       "keep the path's queue near --queue-target-ms by pacing the carrier when the tunnel's "
       "round trip rises (auto: on unless the peer is on loopback, such as ss-tunnel)",
       "`on`: pace the carrier and bound what is in flight end to end (what was sent before the "
       "last answered PING has arrived) whenever the round trip stands above `queue_target_ms`; "
       "`off`: never; `auto`: on unless the carrier's peer is on this machine (ss-tunnel, "
       "ss-server, HAProxy, a SOCKS5 proxy), whose own socket buffers and Nagle's algorithm "
       "(simple-obfs keeps it on: 10–20 ms per small write) it does not see through well yet — "
       "see docs/BENCHMARKS.md"},
      {"--tcp-congestion", "tcp_congestion", "NAME", text(&C::tcp_congestion),
       "the carrier's congestion control (bbr, cubic, ...: what the kernel offers)",
       "the carrier's congestion control (`bbr`, `cubic`, … as "
       "`/proc/sys/net/ipv4/tcp_available_congestion_control` lists)",
       "the system's"},
      {"--duplicate-below-kbps", "duplicate_below_kbps", "KBPS",
       number(&C::duplicate_below_kbps, 0, 1'000'000),
       "when a session has several connections (udp-local --connections), flows below this rate "
       "are sent on two of them and the first copy is kept: a lost segment delays them only "
       "when both connections lose one (0: never)",
       "with several connections per session (udp-local `--connections`): a flow sending less "
       "than this (over half-second windows) is small: it keeps off the first connection (where "
       "bulk flows are), and each of its datagrams goes on two of the others, the receiver "
       "keeping the first copy: a lost segment delays it only when both connections lose one "
       "at once. Games, calls and DNS are far below it; bulk flows are never copied (beyond "
       "their first 16 KB). Each end decides for what it sends. 0: no copies (small flows still "
       "keep off the first connection, below 256 kbit/s). Counted: `duplicates_sent`, "
       "`duplicates_dropped` (second copies received)"},
  };
  return options;
}

Status check_carrier_config(const CarrierConfig& c) {
  if (c.queue_target_ms >= c.queue_interval_ms)
    return Status::failure("\"queue_target_ms\" must be below \"queue_interval_ms\"");
  return Status::success();
}

}  // namespace udptun::runtime
