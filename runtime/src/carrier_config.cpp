#include "udptun/runtime/carrier_config.hpp"

namespace udptun::runtime {

bool read_carrier_config(ConfigReader& r, CarrierConfig& c) {
  bool ok = r.get_uint("queue_target_ms", 1, 10'000, c.queue_target_ms) &&
            r.get_uint("queue_interval_ms", 10, 60'000, c.queue_interval_ms) &&
            r.get_uint("tcp_notsent_lowat", 0, 1u << 30, c.tcp_notsent_lowat) &&
            r.get_string("tcp_congestion", c.tcp_congestion) && r.get_string("pacing", c.pacing) &&
            r.get_uint("duplicate_below_kbps", 0, 1'000'000, c.duplicate_below_kbps);
  if (ok && c.pacing != "auto" && c.pacing != "on" && c.pacing != "off") {
    r.fail("\"pacing\" must be \"auto\", \"on\" or \"off\"");
    return false;
  }
  if (ok && c.queue_target_ms >= c.queue_interval_ms) {
    r.fail("\"queue_target_ms\" must be below \"queue_interval_ms\"");
    return false;
  }
  return ok;
}

std::vector<CommandLineOption> with_carrier_options(std::vector<CommandLineOption> options) {
  using Kind = CommandLineOption::Kind;
  options.insert(
      options.end(),
      {{"--queue-target-ms", "queue_target_ms", Kind::integer, "MS",
        "when the carrier is full, datagrams wait in one queue per flow, served in turn; a "
        "queue whose datagrams keep waiting longer than this drops its oldest (CoDel; "
        "default 5)"},
       {"--queue-interval-ms", "queue_interval_ms", Kind::integer, "MS",
        "... once that has lasted this long; nothing waits longer than this (default 100)"},
       {"--tcp-notsent-lowat", "tcp_notsent_lowat", Kind::integer, "BYTES",
        "the kernel holds about this many unsent bytes of the carrier (TCP_NOTSENT_LOWAT), then "
        "about 1 ms of sending once the rate is known, so the queue stays where it is "
        "scheduled (default 16384; 0: the kernel's default, unbounded)"},
       {"--pacing", "pacing", Kind::string, "auto|on|off",
        "keep the path's queue near --queue-target-ms by pacing the carrier when the "
        "tunnel's round trip rises (auto, the default: on unless the peer is on loopback, "
        "such as ss-tunnel)"},
       {"--tcp-congestion", "tcp_congestion", Kind::string, "NAME",
        "the carrier's congestion control (bbr, cubic, ...: what the kernel offers; default: "
        "the system's)"},
       {"--duplicate-below-kbps", "duplicate_below_kbps", Kind::integer, "KBPS",
        "when a session has several connections (udp-local --connections), flows below this "
        "rate are sent on two of them and the first copy is kept: a lost segment delays them "
        "only when both connections lose one (default 256; 0: never)"}});
  return options;
}

}  // namespace udptun::runtime
