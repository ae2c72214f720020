// configureRouting's parameters (the Outline-style names) checked and turned into a
// RoutingRequest, apart from applying it: a bad request is refused before anything changes.
#pragma once

#include <cJSON.h>

#include <string>

#include "routing_platform.hpp"
#include "udptun/protocol/status.hpp"

namespace udptun::controller {

// `out` filled, or what is wrong, naming the parameter (and `out` unchanged).
Status parse_routing_request(const cJSON* params, RoutingRequest& out);

}  // namespace udptun::controller
