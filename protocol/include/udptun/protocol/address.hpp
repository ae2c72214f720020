// Endpoint addresses: IPv4, IPv6 or a domain name, with a port. The wire form is SOCKS5's
// (ATYP, address, port), shared by SOCKS5 and the tunnel protocol.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "udptun/protocol/bytes.hpp"
#include "udptun/protocol/parse_result.hpp"

struct sockaddr;
struct sockaddr_storage;

namespace udptun::protocol {

enum class AddressType : uint8_t { ipv4 = 0x01, domain = 0x03, ipv6 = 0x04 };

constexpr size_t kMaxDomainLength = 255;
// ATYP + length + 255 name bytes + port.
constexpr size_t kMaxEncodedAddress = 1 + 1 + kMaxDomainLength + 2;

// Fixed size and trivially copyable, so the data path never allocates for an address.
struct Address {
  AddressType type = AddressType::ipv4;
  uint16_t port = 0;
  uint8_t domain_length = 0;
  std::array<uint8_t, 16> ip{};  // IPv4 uses the first 4 bytes (network order)
  std::array<char, kMaxDomainLength> domain{};

  static Address ipv4(const uint8_t (&a)[4], uint16_t port);
  static Address ipv6(const uint8_t (&a)[16], uint16_t port);
  // Returns nothing when the name is not a valid domain name (see is_valid_domain_name).
  static std::optional<Address> from_domain(std::string_view name, uint16_t port);

  std::string_view domain_name() const { return {domain.data(), domain_length}; }
  bool is_ip() const { return type != AddressType::domain; }
  // 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104: this machine.
  bool is_loopback() const;
};

bool operator==(const Address& a, const Address& b);
inline bool operator!=(const Address& a, const Address& b) {
  return !(a == b);
}

// 1..255 bytes of letters, digits, '-', '_' and '.', no empty label. Refusing everything else
// keeps control characters and NULs from ever reaching a resolver or a log line.
bool is_valid_domain_name(std::string_view name);

// Wire form (SOCKS5 ATYP form). Errors carry the SOCKS5 REP code 0x08 for a bad ATYP.
size_t encoded_size(const Address& a);
size_t encode_address(const Address& a, uint8_t* out);  // out holds kMaxEncodedAddress
void append_address(ByteWriter& w, const Address& a);
Parsed<Address> decode_address(ByteView in);

// Text form: "1.2.3.4:80", "[::1]:53", "example.com:443". The port is required.
struct AddressText {
  std::optional<Address> address;
  const char* error = nullptr;
};
AddressText parse_address_text(std::string_view text);
std::string format_address(const Address& a);

// Socket address conversions (IP addresses only; a domain needs resolving first).
std::optional<Address> address_from_sockaddr(const struct sockaddr* sa);
// Returns the sockaddr length, or 0 for a domain address.
unsigned address_to_sockaddr(const Address& a, struct sockaddr_storage* out);
// The same IPv4 or IPv6 address and port (false for any other family).
bool same_endpoint(const struct sockaddr* a, const struct sockaddr* b);

}  // namespace udptun::protocol
