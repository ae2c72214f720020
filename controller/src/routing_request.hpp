// configureRouting's parameters (the Outline-style names) checked and turned into a
// RoutingRequest, apart from applying it: a bad request is refused before anything changes.
#pragma once

#include <cJSON.h>

#include <string>

#include "routing_platform.hpp"

namespace udptun::controller {

// "" and `out` filled, or what is wrong, naming the parameter.
std::string parse_routing_request(const cJSON* params, RoutingRequest& out);

}  // namespace udptun::controller
