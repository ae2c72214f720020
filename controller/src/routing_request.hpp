// configureRouting's parameters (the Outline-style names) checked and turned into a
// RoutingRequest, apart from applying it: a bad request is refused before anything changes.
#pragma once

#include <cJSON.h>

#include <cstdint>
#include <string>
#include <vector>

#include "routing_platform.hpp"
#include "udptun/protocol/status.hpp"

namespace udptun::controller {

// `out` filled, or what is wrong, naming the parameter (and `out` unchanged). "routerIp"
// must be a private address (10/8, 172.16/12, 192.168/16, 100.64/10, 198.18/15) and
// "routerIp6" a unique local one (fc00::/7): the controller makes it a local address of this
// machine, so it must never be an address that belongs to someone else.
Status parse_routing_request(const cJSON* params, RoutingRequest& out);

// What the system has now, for check_router_ip_free.
struct ExistingRoute {
  uint32_t dest = 0, mask = 0;  // host order; mask 0 is the default route
  std::string dev;
};
struct ExistingAddress {
  uint32_t ip = 0;  // host order
  std::string dev;
};
// The router address and its /24 (the TUN's network) must be free: not an address of any
// other device, not inside (or around) a route of another device. `tun` (ours) may have them.
Status check_router_ip_free(const protocol::Address& router,
                            const std::vector<ExistingRoute>& routes,
                            const std::vector<ExistingAddress>& addresses, const std::string& tun);

}  // namespace udptun::controller
