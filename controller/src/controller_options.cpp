// proxy-controller's configuration keys, each declared once: flag, JSON key, bounds, the member
// it fills, help and documentation (docs/CONFIG.md's proxy-controller table is made from this).
#include "udptun/controller_options.hpp"
#include "controller.hpp"

namespace udptun::controller {

namespace {

using C = ControllerConfig;
using namespace runtime;  // the field kinds: number, text, parsed, ...

const OptionList<C> kControllerOptions = {
    {"--socket", "socket", "PATH", text(&C::socket_path),
     "the control socket, also given as SOCKET_PATH", nullptr, nullptr, true},
    {"--socket-group", "socket_group", "GROUP", text(&C::socket_group),
     "make the socket 0660 for this group (default 0600: root only)",
     "make the socket 0660 for this group, whose members may then do what "
     "[CONTROL-API.md](CONTROL-API.md) allows them (default: 0600, root only)"},
    {"--state-dir", "state_dir", "DIR", text(&C::state_dir),
     "where the route journal and the services' state are kept", nullptr, nullptr, true},
    {nullptr, "bin_dir", "", text(&C::bin_dir),
     "where tun2socks, udp-local and udp-server are (for the built-ins run as processes)", nullptr,
     "next to proxy-controller", true},
    {"--service-user", "service_user", "USER", parsed<C>([](const std::string& t, C& c) {
       if (t.empty()) return Status::success();
       c.service_user = t;
       c.service_user_is_default = false;
       return Status::success();
     }),
     "services run as USER (never root)", nullptr, "udptun, else nobody"},
    {nullptr, "services", "", object(&C::services_json),
     "the services it may run, by name ([CONTROL-API.md](CONTROL-API.md), Services)"},
    {nullptr, "max_quick_restarts", "", number(&C::max_quick_restarts, 0, 1000),
     "a service that exits within 10 s more often than this in a row is marked failed and left "
     "stopped"},
    {nullptr, "max_request_bytes", "", number(&C::max_request_bytes, 1024, 16u << 20),
     "the longest request line a client may send"},
    {nullptr, "max_output_bytes", "", number(&C::max_output_bytes, 64u << 10, 256u << 20),
     "replies and events waiting for a client: over this its requests wait, over twice this a "
     "client that reads nothing is disconnected"},
    {nullptr, "max_connections", "", number(&C::max_connections, 1, 100'000),
     "control connections at once"},
    {nullptr, "max_services", "", number(&C::max_services, 1, 10'000),
     "services known at once; past it the oldest stopped one that was not declared goes"},
    log_level_option<C>(),
    {"--metrics", "metrics", "ADDR:PORT", endpoint(&C::metrics),
     "serve Prometheus metrics at http://ADDR:PORT/metrics: every service's state, restarts and "
     "counters, labelled service=\"NAME\"",
     "serve Prometheus metrics at `http://ADDR:PORT/metrics`: every service's state, restarts "
     "and counters, labelled `service=\"NAME\"` (see [Metrics](#metrics))",
     "off"},
    metrics_allow_option<C>(),
};

}  // namespace

const runtime::OptionList<ControllerConfig>& controller_options() {
  return kControllerOptions;
}

std::vector<runtime::CommandLineOption> describe_options() {
  return runtime::describe(kControllerOptions);
}

}  // namespace udptun::controller
