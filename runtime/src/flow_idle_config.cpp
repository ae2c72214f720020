#include "udptun/runtime/flow_idle_config.hpp"

namespace udptun::runtime {

const OptionList<FlowIdleConfig>& flow_idle_options() {
  constexpr uint64_t kDay = 86'400'000;
  // Made on first use: the daemons' tables are built from it, maybe before this file's statics.
  static const OptionList<FlowIdleConfig> options = {
      {"--flow-idle-timeout-ms", "flow_idle_timeout_ms", "MS",
       number(&FlowIdleConfig::flow_idle_timeout_ms, 100, kDay),
       "close a flow (and its socket) idle this long"},
      {"--dns-idle-timeout-ms", "dns_idle_timeout_ms", "MS",
       number(&FlowIdleConfig::dns_idle_timeout_ms, 100, kDay),
       "the same for flows that only ever sent to port 53"},
  };
  return options;
}

}  // namespace udptun::runtime
