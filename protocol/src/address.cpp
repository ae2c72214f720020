#include "udptun/protocol/address.hpp"

#include "udptun/protocol/socket_api.hpp"

#include <cstring>

namespace udptun::protocol {

Address Address::ipv4(const uint8_t (&a)[4], uint16_t port) {
  Address r;
  r.type = AddressType::ipv4;
  std::memcpy(r.ip.data(), a, 4);
  r.port = port;
  return r;
}

Address Address::ipv6(const uint8_t (&a)[16], uint16_t port) {
  Address r;
  r.type = AddressType::ipv6;
  std::memcpy(r.ip.data(), a, 16);
  r.port = port;
  return r;
}

std::optional<Address> Address::from_domain(std::string_view name, uint16_t port) {
  if (!is_valid_domain_name(name)) return std::nullopt;
  Address r;
  r.type = AddressType::domain;
  r.domain_length = static_cast<uint8_t>(name.size());
  std::memcpy(r.domain.data(), name.data(), name.size());
  r.port = port;
  return r;
}

bool Address::is_loopback() const {
  if (type == AddressType::ipv4) return ip[0] == 127;
  if (type != AddressType::ipv6) return false;
  static const uint8_t kOne[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(ip.data(), kOne, 16) == 0 ||
         (std::memcmp(ip.data(), kMapped, 12) == 0 && ip[12] == 127);
}

bool operator==(const Address& a, const Address& b) {
  if (a.type != b.type || a.port != b.port) return false;
  switch (a.type) {
    case AddressType::ipv4:
      return std::memcmp(a.ip.data(), b.ip.data(), 4) == 0;
    case AddressType::ipv6:
      return a.ip == b.ip;
    case AddressType::domain:
      return a.domain_name() == b.domain_name();
  }
  return false;
}

bool is_valid_domain_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxDomainLength) return false;
  size_t label = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '.') {
      // An empty label is invalid, except the root dot at the very end ("example.com.").
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return true;
}

size_t encoded_size(const Address& a) {
  switch (a.type) {
    case AddressType::ipv4:
      return 1 + 4 + 2;
    case AddressType::ipv6:
      return 1 + 16 + 2;
    case AddressType::domain:
      return 1 + 1 + a.domain_length + 2;
  }
  return 0;
}

size_t encode_address(const Address& a, uint8_t* out) {
  size_t n = 0;
  out[n++] = static_cast<uint8_t>(a.type);
  switch (a.type) {
    case AddressType::ipv4:
      std::memcpy(out + n, a.ip.data(), 4);
      n += 4;
      break;
    case AddressType::ipv6:
      std::memcpy(out + n, a.ip.data(), 16);
      n += 16;
      break;
    case AddressType::domain:
      out[n++] = a.domain_length;
      std::memcpy(out + n, a.domain.data(), a.domain_length);
      n += a.domain_length;
      break;
  }
  store_u16(out + n, a.port);
  return n + 2;
}

void append_address(ByteWriter& w, const Address& a) {
  uint8_t buf[kMaxEncodedAddress];
  w.bytes(buf, encode_address(a, buf));
}

Parsed<Address> decode_address(ByteView in) {
  using P = Parsed<Address>;
  constexpr uint8_t kBadAtyp = 0x08;  // SOCKS5 "address type not supported"
  ByteReader r(in);
  uint8_t atyp;
  if (!r.u8(atyp)) return P::more();
  Address a;
  switch (atyp) {
    case static_cast<uint8_t>(AddressType::ipv4):
      a.type = AddressType::ipv4;
      if (!r.bytes(a.ip.data(), 4)) return P::more();
      break;
    case static_cast<uint8_t>(AddressType::ipv6):
      a.type = AddressType::ipv6;
      if (!r.bytes(a.ip.data(), 16)) return P::more();
      break;
    case static_cast<uint8_t>(AddressType::domain): {
      a.type = AddressType::domain;
      uint8_t len;
      if (!r.u8(len)) return P::more();
      if (len == 0) return P::reject("empty domain name", kBadAtyp);
      if (!r.bytes(a.domain.data(), len)) return P::more();
      a.domain_length = len;
      if (!is_valid_domain_name(a.domain_name())) return P::reject("invalid domain name", kBadAtyp);
      break;
    }
    default:
      return P::reject("unknown address type", kBadAtyp);
  }
  if (!r.u16(a.port)) return P::more();
  return P::done(a, r.position());
}

namespace {

bool parse_port(std::string_view s, uint16_t& port) {
  if (s.empty() || s.size() > 5) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) return false;
  port = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

AddressText parse_address_text(std::string_view text) {
  AddressText out;
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return {std::nullopt, "missing ']' after IPv6 address"};
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return {std::nullopt, "missing ':PORT'"};
    port_text = rest.substr(1);
    char buf[INET6_ADDRSTRLEN];
    uint8_t ip[16];
    if (host.size() >= sizeof buf) return {std::nullopt, "invalid IPv6 address"};
    std::memcpy(buf, host.data(), host.size());
    buf[host.size()] = '\0';
    if (inet_pton(AF_INET6, buf, ip) != 1) return {std::nullopt, "invalid IPv6 address"};
    uint16_t port;
    if (!parse_port(port_text, port)) return {std::nullopt, "invalid port"};
    out.address = Address::ipv6(ip, port);
    return out;
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return {std::nullopt, "missing ':PORT'"};
  host = text.substr(0, colon);
  port_text = text.substr(colon + 1);
  if (host.find(':') != std::string_view::npos) {
    return {std::nullopt, "IPv6 addresses need brackets: [ADDR]:PORT"};
  }
  uint16_t port;
  if (!parse_port(port_text, port)) return {std::nullopt, "invalid port"};
  if (host.empty()) return {std::nullopt, "missing host"};
  char buf[INET_ADDRSTRLEN];
  uint8_t ip4[4];
  if (host.size() < sizeof buf) {
    std::memcpy(buf, host.data(), host.size());
    buf[host.size()] = '\0';
    if (inet_pton(AF_INET, buf, ip4) == 1) {
      out.address = Address::ipv4(ip4, port);
      return out;
    }
  }
  out.address = Address::from_domain(host, port);
  if (!out.address) return {std::nullopt, "invalid host name"};
  return out;
}

std::string format_address(const Address& a) {
  char buf[INET6_ADDRSTRLEN];
  std::string s;
  switch (a.type) {
    case AddressType::ipv4:
      inet_ntop(AF_INET, a.ip.data(), buf, sizeof buf);
      s = buf;
      break;
    case AddressType::ipv6:
      inet_ntop(AF_INET6, a.ip.data(), buf, sizeof buf);
      s = std::string("[") + buf + "]";
      break;
    case AddressType::domain:
      s.assign(a.domain_name());
      break;
  }
  s += ':';
  s += std::to_string(a.port);
  return s;
}

std::optional<Address> address_from_sockaddr(const struct sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof sin);
    uint8_t ip[4];
    std::memcpy(ip, &sin.sin_addr, 4);
    return Address::ipv4(ip, ntohs(sin.sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof sin6);
    uint8_t ip[16];
    std::memcpy(ip, &sin6.sin6_addr, 16);
    return Address::ipv6(ip, ntohs(sin6.sin6_port));
  }
  return std::nullopt;
}

unsigned address_to_sockaddr(const Address& a, struct sockaddr_storage* out) {
  std::memset(out, 0, sizeof *out);
  if (a.type == AddressType::ipv4) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(a.port);
    std::memcpy(&sin.sin_addr, a.ip.data(), 4);
    std::memcpy(out, &sin, sizeof sin);
    return sizeof sin;
  }
  if (a.type == AddressType::ipv6) {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(a.port);
    std::memcpy(&sin6.sin6_addr, a.ip.data(), 16);
    std::memcpy(out, &sin6, sizeof sin6);
    return sizeof sin6;
  }
  return 0;
}

bool same_endpoint(const struct sockaddr* a, const struct sockaddr* b) {
  if (a->sa_family != b->sa_family) return false;
  if (a->sa_family == AF_INET) {
    auto* x = reinterpret_cast<const sockaddr_in*>(a);
    auto* y = reinterpret_cast<const sockaddr_in*>(b);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a->sa_family != AF_INET6) return false;
  auto* x = reinterpret_cast<const sockaddr_in6*>(a);
  auto* y = reinterpret_cast<const sockaddr_in6*>(b);
  return x->sin6_port == y->sin6_port &&
         std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

}  // namespace udptun::protocol
