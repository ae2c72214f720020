// How long a flow may stay idle, the same options for udp-local and udp-server (each closes
// its side of an idle flow): declared once, the JSON keys, their bounds and the command-line
// options that set them.
#pragma once

#include <cstdint>

#include "udptun/runtime/option_table.hpp"

namespace udptun::runtime {

struct FlowIdleConfig {
  uint64_t flow_idle_timeout_ms = 120'000;
  uint64_t dns_idle_timeout_ms = 15'000;  // flows that only ever spoke to port 53
};

// "flow_idle_timeout_ms" and "dns_idle_timeout_ms" (100 ms .. a day).
const OptionList<FlowIdleConfig>& flow_idle_options();

}  // namespace udptun::runtime
