// What the controller needs from the operating system to route a machine through the tunnel,
// behind one small interface (Linux today; macOS, Windows and Android later).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "udptun/protocol/address.hpp"

namespace udptun::controller {

struct RoutingRequest {
  std::string tun_name = "udptun0";
  unsigned mtu = 1500;
  protocol::Address router_ip;               // the TUN device's address (IPv4), a /24
  std::vector<protocol::Address> proxy_ips;  // kept on the previous gateway
};

// Everything a configuration changed, so it can be undone exactly (and journaled first).
struct RoutingState {
  std::string tun_name;
  bool tun_created = false;
  std::string gateway;                    // the previous default gateway ("" if directly connected)
  std::string gateway_dev;                // and its device
  std::vector<std::string> proxy_routes;  // "/32" or "/128" destinations we added
  bool split_default = false;             // 0.0.0.0/1 and 128.0.0.0/1 via the TUN
};

class RoutingPlatform {
 public:
  virtual ~RoutingPlatform() = default;
  // Applies the request, filling `state` step by step (so a failure midway can be undone).
  virtual std::string configure(const RoutingRequest& req, RoutingState& state) = 0;
  // Undoes what `state` says; idempotent (what is already gone is skipped).
  virtual std::string reset(const RoutingState& state) = 0;
};

std::unique_ptr<RoutingPlatform> make_linux_routing();

}  // namespace udptun::controller
