#include "target_policy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace udptun::server {

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
    {"fc00::/7", "unique-local (private) address"},
    {"fe80::/10", "link-local address"},
    {"ff00::/8", "multicast address"},
};

}  // namespace

bool Cidr::parse(const std::string& text, Cidr& out) {
  std::string addr = text;
  long prefix = -1;
  size_t slash = text.find('/');
  if (slash != std::string::npos) {
    addr = text.substr(0, slash);
    std::string p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    prefix = std::stol(p);
  }
  Cidr c;
  if (inet_pton(AF_INET, addr.c_str(), c.bytes) == 1) {
    c.family = AF_INET;
    if (prefix > 32) return false;
    c.prefix = prefix < 0 ? 32 : static_cast<unsigned>(prefix);
  } else if (inet_pton(AF_INET6, addr.c_str(), c.bytes) == 1) {
    c.family = AF_INET6;
    if (prefix > 128) return false;
    c.prefix = prefix < 0 ? 128 : static_cast<unsigned>(prefix);
  } else {
    return false;
  }
  out = c;
  return true;
}

bool Cidr::contains(int fam, const uint8_t* a) const {
  if (fam != family) return false;
  unsigned full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a, bytes, full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[full] & mask) == (bytes[full] & mask);
}

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
  for (const Cidr& c : allowed_) {
    if (c.contains(family, bytes)) return nullptr;
  }
  for (const SpecialRange& r : kRefused) {
    Cidr c;
    Cidr::parse(r.cidr, c);
    if (c.contains(family, bytes)) return r.why;
  }
  return nullptr;
}

}  // namespace udptun::server
