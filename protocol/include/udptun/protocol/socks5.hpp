// SOCKS5 (RFC 1928) and its username/password sub-negotiation (RFC 1929): every message of
// both sides, and the UDP request header. Pure codecs: bytes in, values or reasons out.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/bytes.hpp"
#include "udptun/protocol/parse_result.hpp"

namespace udptun::protocol::socks5 {

constexpr uint8_t kVersion = 0x05;
constexpr uint8_t kUserPassVersion = 0x01;

namespace method {
constexpr uint8_t kNoAuth = 0x00;
constexpr uint8_t kGssapi = 0x01;
constexpr uint8_t kUserPass = 0x02;
constexpr uint8_t kNoAcceptable = 0xFF;
}  // namespace method

enum class Command : uint8_t { connect = 0x01, bind = 0x02, udp_associate = 0x03 };

enum class Reply : uint8_t {
  succeeded = 0x00,
  general_failure = 0x01,
  not_allowed = 0x02,
  network_unreachable = 0x03,
  host_unreachable = 0x04,
  connection_refused = 0x05,
  ttl_expired = 0x06,
  command_not_supported = 0x07,
  address_type_not_supported = 0x08,
};
const char* reply_name(Reply r);

// Client → server: VER NMETHODS METHODS...
struct Greeting {
  uint8_t method_count = 0;
  std::array<uint8_t, 255> methods{};
  bool offers(uint8_t m) const;
};
// Server → client: VER METHOD
struct MethodSelection {
  uint8_t method = method::kNoAcceptable;
};
// Client → server (RFC 1929): VER ULEN UNAME PLEN PASSWD
struct UserPassRequest {
  uint8_t user_length = 0;
  uint8_t password_length = 0;
  std::array<char, 255> user{};
  std::array<char, 255> password{};
  std::string_view user_name() const { return {user.data(), user_length}; }
  std::string_view password_text() const { return {password.data(), password_length}; }
};
// Server → client (RFC 1929): VER STATUS (0 = success)
struct UserPassStatus {
  uint8_t status = 0xFF;
};
// Client → server: VER CMD RSV ATYP DST.ADDR DST.PORT
struct Request {
  Command command = Command::connect;
  Address destination;
};
// Server → client: VER REP RSV ATYP BND.ADDR BND.PORT
struct ReplyMessage {
  Reply reply = Reply::general_failure;
  Address bound;
};
// Each UDP datagram to/from the relay: RSV(2) FRAG ATYP DST.ADDR DST.PORT DATA
struct UdpHeader {
  uint8_t fragment = 0;
  Address address;
  ByteView payload;  // points into the parsed datagram
};

// Stream parsers: need_more on any valid prefix, error with a reason (and for requests, the
// REP code to answer with) otherwise.
Parsed<Greeting> decode_greeting(ByteView in);
Parsed<MethodSelection> decode_method_selection(ByteView in);
Parsed<UserPassRequest> decode_user_pass_request(ByteView in);
Parsed<UserPassStatus> decode_user_pass_status(ByteView in);
Parsed<Request> decode_request(ByteView in);  // BIND parses; the server answers it 0x07
Parsed<ReplyMessage> decode_reply(ByteView in);
// A datagram is whole: a short one is an error, never need_more.
Parsed<UdpHeader> decode_udp_header(ByteView datagram);

void encode_greeting(ByteWriter& w, const Greeting& g);
void encode_method_selection(ByteWriter& w, MethodSelection m);
// Returns false (writing nothing) when the user is empty, or either is over 255 bytes.
bool encode_user_pass_request(ByteWriter& w, std::string_view user, std::string_view password);
void encode_user_pass_status(ByteWriter& w, UserPassStatus s);
void encode_request(ByteWriter& w, const Request& r);
void encode_reply(ByteWriter& w, const ReplyMessage& r);
// Header only (the payload follows it); out holds 3 + kMaxEncodedAddress bytes.
size_t encode_udp_header(const Address& a, uint8_t* out);
constexpr size_t kMaxUdpHeader = 3 + kMaxEncodedAddress;

}  // namespace udptun::protocol::socks5
