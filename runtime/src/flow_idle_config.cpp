#include "udptun/runtime/flow_idle_config.hpp"

namespace udptun::runtime {

bool read_flow_idle_config(ConfigReader& r, FlowIdleConfig& out) {
  constexpr uint64_t kDay = 86'400'000;
  return r.get_uint("flow_idle_timeout_ms", 100, kDay, out.flow_idle_timeout_ms) &&
         r.get_uint("dns_idle_timeout_ms", 100, kDay, out.dns_idle_timeout_ms);
}

std::vector<CommandLineOption> with_flow_idle_options(std::vector<CommandLineOption> options) {
  using Kind = CommandLineOption::Kind;
  options.insert(options.end(), {{"--flow-idle-timeout-ms", "flow_idle_timeout_ms", Kind::integer,
                                  "MS", "close a flow idle this long (default 120000)"},
                                 {"--dns-idle-timeout-ms", "dns_idle_timeout_ms", Kind::integer,
                                  "MS", "the same for flows to port 53 (default 15000)"}});
  return options;
}

}  // namespace udptun::runtime
