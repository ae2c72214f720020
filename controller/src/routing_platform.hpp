// What the controller needs from the operating system to route a machine through the tunnel,
// behind one small interface (Linux today; macOS, Windows and Android later).
#pragma once

#include "udptun/protocol/status.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "udptun/protocol/address.hpp"

namespace udptun::controller {

struct RoutingRequest {
  std::string tun_name = "udptun0";
  unsigned mtu = 1500;
  protocol::Address router_ip;               // the TUN device's IPv4 address, a /24
  std::string router_ip6 = "fd85:85:85::1";  // its IPv6 address, a /64 (when IPv6 is routed)
  bool ipv6 = true;  // also route IPv6 into the TUN, when the machine has an IPv6 default route
  std::vector<protocol::Address> proxy_ips;  // kept on the previous gateway (IPv4 and IPv6)
  // The device is ours already (created by an earlier configuration, still held by
  // tun2socks): use it as it is. Otherwise a device of that name must not exist: a device
  // someone else made is never taken over (nor deleted at reset).
  bool reuse_tun = false;
};

// Everything a configuration changed, so it can be undone exactly (and journaled first).
struct RoutingState {
  std::string tun_name;
  bool tun_created = false;
  std::string gateway;                    // the IPv4 default gateway ("" if directly connected)
  std::string gateway_dev;                // and its device
  std::string gateway6, gateway6_dev;     // the same for IPv6 ("" when IPv6 is not routed)
  std::vector<std::string> proxy_routes;  // "/32" or "/128" destinations we added
  std::vector<std::string> proxy_guards;  // their unreachable fallbacks (see linux_routing)
  bool split_default = false;             // 0.0.0.0/1 and 128.0.0.0/1 via the TUN
  bool split_default6 = false;            // ::/1 and 8000::/1 via the TUN
};

// The default route the proxy's own traffic leaves by, as it is now.
struct Uplink {
  bool usable = false;  // a default route exists and its device is up with a carrier
  std::string gateway, dev;
};

class RoutingPlatform {
 public:
  virtual ~RoutingPlatform() = default;
  // Applies the request, filling `state` step by step (so a failure midway can be undone);
  // `checkpoint` is called with the state after every change made, so a journal can list
  // exactly what was added (never what was there before us).
  using Checkpoint = std::function<void(const RoutingState&)>;
  virtual Status configure(const RoutingRequest& req, RoutingState& state,
                           const Checkpoint& checkpoint) = 0;
  // Undoes what `state` says; idempotent (what is already gone is skipped).
  virtual Status reset(const RoutingState& state) = 0;
  // Makes the TUN device we created go away: true when it is gone or will be as soon as the
  // process holding it (tun2socks) lets go; false while that could not be arranged yet (its
  // holder blocks the change): try again later.
  virtual bool release_tun(const std::string& name) = 0;
  virtual Uplink uplink(bool ipv6) = 0;
  // After the network changed under us: the proxy routes follow the current default gateways
  // (re-added when a link flap removed them) and the TUN's routes are put back if missing.
  // Updates `state`; `changed` tells whether anything had to be done. A failure says what
  // could not be put back (what could was, and `changed` says so).
  virtual Status follow_uplink(RoutingState& state, bool& changed) = 0;
  // A descriptor that becomes readable when links, addresses or routes change (-1: none);
  // drain_changes() consumes what is pending.
  virtual int change_fd() = 0;
  virtual void drain_changes() = 0;
  virtual bool device_exists(const std::string& name) = 0;
  // The TUN device `name` opened for a tun2socks that runs without privileges (it gets the
  // descriptor): attached if it exists, created for as long as the descriptor lives if not.
  // The descriptor, or a failure with a negative errno.
  virtual Result<int> open_tun(const std::string& name) = 0;
};

std::unique_ptr<RoutingPlatform> make_linux_routing();

}  // namespace udptun::controller
