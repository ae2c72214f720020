#include "target_policy.hpp"

#include <uv.h>
#include "udptun/protocol/socket_api.hpp"

#include <cstring>

namespace udptun::udpserver {

namespace {

struct SpecialRange {
  const char* cidr;
  const char* why;
};

// Ranges refused unless allowed (RFC 6890 special-purpose registries, abridged).
const SpecialRange kRefused[] = {
    {"0.0.0.0/8", "'this network' address"},
    {"10.0.0.0/8", "private address"},
    {"100.64.0.0/10", "shared (CGNAT) address"},
    {"127.0.0.0/8", "loopback address"},
    {"169.254.0.0/16", "link-local address"},
    {"172.16.0.0/12", "private address"},
    {"192.0.0.0/24", "IETF protocol assignment"},
    {"192.168.0.0/16", "private address"},
    {"198.18.0.0/15", "benchmarking address"},
    {"224.0.0.0/4", "multicast address"},
    {"240.0.0.0/4", "reserved or broadcast address"},
    {"::/128", "unspecified address"},
    {"::1/128", "loopback address"},
    {"::/96", "IPv4-compatible address (deprecated)"},
    {"fc00::/7", "unique-local (private) address"},
    {"fec0::/10", "site-local address (deprecated)"},
    {"fe80::/10", "link-local address"},
    {"ff00::/8", "multicast address"},
};

}  // namespace

const char* TargetPolicy::refuse_reason(const struct sockaddr* sa) const {
  int family = sa->sa_family;
  uint8_t bytes[16];
  uint16_t port;
  if (family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof sin);
    std::memcpy(bytes, &sin.sin_addr, 4);
    port = ntohs(sin.sin_port);
  } else if (family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof sin6);
    std::memcpy(bytes, &sin6.sin6_addr, 16);
    port = ntohs(sin6.sin6_port);
    // An IPv4-mapped address is judged as the IPv4 address it carries.
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (std::memcmp(bytes, kMapped, 12) == 0) {
      std::memmove(bytes, bytes + 12, 4);
      family = AF_INET;
    }
  } else {
    return "not an IP address";
  }
  if (port == 0) return "port 0";
  return judge(family, bytes);
}

const char* TargetPolicy::judge(int family, const uint8_t* bytes) const {
  for (const Cidr& c : allowed_) {
    if (c.contains(family, bytes)) return nullptr;
  }
  for (const SpecialRange& r : kRefused) {
    Cidr c;
    Cidr::parse(r.cidr, c);
    if (c.contains(family, bytes)) return r.why;
  }
  for (const Cidr& c : own_) {
    if (c.contains(family, bytes)) return "one of the server's own addresses";
  }
  if (family != AF_INET6) return nullptr;
  // Addresses that carry an IPv4 address inside (NAT64, 6to4) reach what that address
  // reaches: judged by it, so 64:ff9b::7f00:1 is loopback like 127.0.0.1.
  uint8_t v4[4];
  static const uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  static const uint8_t kLocalNat64[6] = {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01};
  const char* kind = nullptr;
  if (std::memcmp(bytes, kNat64, 12) == 0) {  // 64:ff9b::/96 (RFC 6052)
    std::memcpy(v4, bytes + 12, 4);
    kind = "NAT64 address of a refused IPv4 address";
  } else if (std::memcmp(bytes, kLocalNat64, 6) == 0) {  // 64:ff9b:1::/48 (RFC 8215), /48 layout
    v4[0] = bytes[6];
    v4[1] = bytes[7];
    v4[2] = bytes[9];  // byte 8 is the "u" octet
    v4[3] = bytes[10];
    kind = "local-use NAT64 address of a refused IPv4 address";
  } else if (bytes[0] == 0x20 && bytes[1] == 0x02) {  // 2002::/16 (6to4, RFC 3056)
    std::memcpy(v4, bytes + 2, 4);
    kind = "6to4 address of a refused IPv4 address";
  } else {
    return nullptr;
  }
  return judge(AF_INET, v4) ? kind : nullptr;
}

void TargetPolicy::set_own_addresses(std::vector<Cidr> own) {
  own_ = std::move(own);
}

std::vector<Cidr> TargetPolicy::interface_addresses() {
  std::vector<Cidr> out;
  uv_interface_address_t* list = nullptr;
  int count = 0;
  if (uv_interface_addresses(&list, &count) != 0) return out;
  for (int i = 0; i < count; ++i) {
    const auto& a = list[i].address;
    Cidr c;
    if (a.address4.sin_family == AF_INET) {
      c.family = AF_INET;
      std::memcpy(c.bytes, &a.address4.sin_addr, 4);
      c.prefix = 32;
    } else if (a.address6.sin6_family == AF_INET6) {
      c.family = AF_INET6;
      std::memcpy(c.bytes, &a.address6.sin6_addr, 16);
      c.prefix = 128;
    } else {
      continue;
    }
    out.push_back(c);
  }
  uv_free_interface_addresses(list, count);
  return out;
}

}  // namespace udptun::udpserver
