#include "udptun/protocol/cidr.hpp"

#include "udptun/protocol/socket_api.hpp"

#include <cstring>

namespace udptun::protocol {

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

Status AllowList::parse(const std::vector<std::string>& texts) {
  std::vector<Cidr> ranges;
  for (const auto& t : texts) {
    Cidr c;
    if (!Cidr::parse(t, c)) return Status::failure(t + " is not an address or CIDR range");
    ranges.push_back(c);
  }
  ranges_ = std::move(ranges);
  return Status::success();
}

Status AllowList::add(const std::string& text) {
  Cidr c;
  if (!Cidr::parse(text, c)) return Status::failure(text + " is not an address or CIDR range");
  ranges_.push_back(c);
  return Status::success();
}

bool AllowList::permits(const Address& peer) const {
  if (ranges_.empty()) return true;
  sockaddr_storage ss{};
  return address_to_sockaddr(peer, &ss) != 0 && permits(reinterpret_cast<const sockaddr*>(&ss));
}

bool AllowList::permits(const struct sockaddr* peer) const {
  if (ranges_.empty()) return true;
  int family = peer->sa_family;
  uint8_t bytes[16];
  if (family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, peer, sizeof sin);
    std::memcpy(bytes, &sin.sin_addr, 4);
  } else if (family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, peer, sizeof sin6);
    std::memcpy(bytes, &sin6.sin6_addr, 16);
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (std::memcmp(bytes, kMapped, 12) == 0) {
      family = AF_INET;
      std::memmove(bytes, bytes + 12, 4);
    }
  } else {
    return false;
  }
  for (const Cidr& c : ranges_) {
    if (c.contains(family, bytes)) return true;
  }
  return false;
}

std::string source_key(const uint8_t* ip, bool ipv6, unsigned v6_prefix_bits) {
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!ipv6) return std::string(reinterpret_cast<const char*>(ip), 4);
  if (std::memcmp(ip, kMapped, sizeof kMapped) == 0)
    return std::string(reinterpret_cast<const char*>(ip + 12), 4);
  uint8_t masked[17] = {};
  unsigned bits = v6_prefix_bits > 128 ? 128 : v6_prefix_bits;
  for (unsigned i = 0; i < 16; ++i) {
    unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;
    masked[i] = static_cast<uint8_t>(ip[i] & (keep == 0 ? 0 : 0xff << (8 - keep)));
  }
  masked[16] = static_cast<uint8_t>(bits);  // a /64 key never equals an IPv4 one or a /128
  return std::string(reinterpret_cast<const char*>(masked), sizeof masked);
}

}  // namespace udptun::protocol
