// Address ranges ("10.0.0.0/8", "fd00::/8", a bare address) and lists of them: the server's
// target policy and the client allow-lists (--allow-client) of udp-server and udp-local.
#pragma once

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/status.hpp"

#include <cstdint>
#include <string>
#include <vector>

struct sockaddr;

namespace udptun::protocol {

struct Cidr {
  int family = 0;  // AF_INET or AF_INET6
  uint8_t bytes[16] = {};
  unsigned prefix = 0;

  // "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128).
  static bool parse(const std::string& text, Cidr& out);
  bool contains(int family, const uint8_t* addr) const;
};

// The key per-source limits count a peer under: its IPv4 address, or the first
// `v6_prefix_bits` of its IPv6 address (one host usually holds a whole /64, so counting
// /128s would let it spread over as many keys as it likes). An IPv4-mapped IPv6 address (a
// dual-stack socket) is keyed as the IPv4 address it is. `ip` holds 4 or 16 bytes.
std::string source_key(const uint8_t* ip, bool ipv6, unsigned v6_prefix_bits);

// Who may use a listener: everyone when empty; otherwise a peer inside one of the ranges.
// An IPv4-mapped IPv6 peer (a dual-stack socket) is judged as the IPv4 address it is.
class AllowList {
 public:
  // A failure names the bad entry and changes nothing.
  Status parse(const std::vector<std::string>& texts);
  // One more range ("10.0.0.0/8", "2001:db8::1"); a failure names it and changes nothing.
  Status add(const std::string& text);
  bool empty() const { return ranges_.empty(); }
  bool permits(const struct sockaddr* peer) const;
  // The same for a connection's peer as TcpStream gives it (an IP address).
  bool permits(const Address& peer) const;

 private:
  std::vector<Cidr> ranges_;
};

}  // namespace udptun::protocol
