// Which UDP targets the server may send to. Loopback, private, link-local, multicast and
// other special-purpose ranges, the server's own addresses, and IPv6 addresses that embed a
// refused IPv4 one (NAT64, 6to4) are refused unless an allow rule opens them: otherwise a
// client could use the server to reach its own network (no open relay inward either).
#pragma once

#include "udptun/protocol/socket_api.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include "udptun/protocol/cidr.hpp"

namespace udptun::udpserver {

using protocol::Cidr;

class TargetPolicy {
 public:
  void allow(const Cidr& c) { allowed_.push_back(c); }
  // The machine's own addresses are refused too (a public one would reach its services
  // from "outside"); the server refreshes them as interfaces change.
  void set_own_addresses(std::vector<Cidr> own);
  static std::vector<Cidr> interface_addresses();
  // nullptr when the target is permitted, else why not (for logs and counters).
  const char* refuse_reason(const struct sockaddr* target) const;

 private:
  const char* judge(int family, const uint8_t* bytes) const;
  std::vector<Cidr> allowed_;
  std::vector<Cidr> own_;
};

}  // namespace udptun::udpserver
