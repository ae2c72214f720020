#include "udptun/protocol/socks5.hpp"

#include <cstring>

namespace udptun::protocol::socks5 {

namespace {

constexpr uint8_t rep(Reply r) {
  return static_cast<uint8_t>(r);
}

}  // namespace

const char* reply_name(Reply r) {
  switch (r) {
    case Reply::succeeded:
      return "succeeded";
    case Reply::general_failure:
      return "general SOCKS server failure";
    case Reply::not_allowed:
      return "connection not allowed by ruleset";
    case Reply::network_unreachable:
      return "network unreachable";
    case Reply::host_unreachable:
      return "host unreachable";
    case Reply::connection_refused:
      return "connection refused";
    case Reply::ttl_expired:
      return "TTL expired";
    case Reply::command_not_supported:
      return "command not supported";
    case Reply::address_type_not_supported:
      return "address type not supported";
  }
  return "unknown reply";
}

bool Greeting::offers(uint8_t m) const {
  for (size_t i = 0; i < method_count; ++i) {
    if (methods[i] == m) return true;
  }
  return false;
}

Parsed<Greeting> decode_greeting(ByteView in) {
  using P = Parsed<Greeting>;
  ByteReader r(in);
  uint8_t ver, n;
  if (!r.u8(ver)) return P::more();
  if (ver != kVersion) return P::reject("not SOCKS5 (bad version byte)");
  if (!r.u8(n)) return P::more();
  if (n == 0) return P::reject("greeting offers no methods");
  Greeting g;
  if (!r.bytes(g.methods.data(), n)) return P::more();
  g.method_count = n;
  return P::done(g, r.position());
}

Parsed<MethodSelection> decode_method_selection(ByteView in) {
  using P = Parsed<MethodSelection>;
  ByteReader r(in);
  uint8_t ver;
  MethodSelection m;
  if (!r.u8(ver)) return P::more();
  if (ver != kVersion) return P::reject("not SOCKS5 (bad version byte)");
  if (!r.u8(m.method)) return P::more();
  return P::done(m, r.position());
}

Parsed<UserPassRequest> decode_user_pass_request(ByteView in) {
  using P = Parsed<UserPassRequest>;
  ByteReader r(in);
  uint8_t ver;
  UserPassRequest u;
  if (!r.u8(ver)) return P::more();
  if (ver != kUserPassVersion) return P::reject("bad username/password version byte");
  if (!r.u8(u.user_length)) return P::more();
  if (u.user_length == 0) return P::reject("empty user name");
  if (!r.bytes(u.user.data(), u.user_length)) return P::more();
  // RFC 1929 says 1..255, but empty passwords are sent by real clients and harmless.
  if (!r.u8(u.password_length)) return P::more();
  if (!r.bytes(u.password.data(), u.password_length)) return P::more();
  return P::done(u, r.position());
}

Parsed<UserPassStatus> decode_user_pass_status(ByteView in) {
  using P = Parsed<UserPassStatus>;
  ByteReader r(in);
  uint8_t ver;
  UserPassStatus s;
  if (!r.u8(ver)) return P::more();
  if (ver != kUserPassVersion) return P::reject("bad username/password version byte");
  if (!r.u8(s.status)) return P::more();
  return P::done(s, r.position());
}

Parsed<Request> decode_request(ByteView in) {
  using P = Parsed<Request>;
  ByteReader r(in);
  uint8_t ver, cmd, rsv;
  if (!r.u8(ver)) return P::more();
  if (ver != kVersion)
    return P::reject("not SOCKS5 (bad version byte)", rep(Reply::general_failure));
  if (!r.u8(cmd)) return P::more();
  if (cmd < 0x01 || cmd > 0x03) {
    return P::reject("unknown command", rep(Reply::command_not_supported));
  }
  if (!r.u8(rsv)) return P::more();
  if (rsv != 0) return P::reject("reserved byte is not zero", rep(Reply::general_failure));
  auto addr = decode_address(r.rest());
  if (!addr.ok()) return P::from(addr);
  Request q;
  q.command = static_cast<Command>(cmd);
  q.destination = addr.value;
  return P::done(q, r.position() + addr.consumed);
}

Parsed<ReplyMessage> decode_reply(ByteView in) {
  using P = Parsed<ReplyMessage>;
  ByteReader r(in);
  uint8_t ver, code, rsv;
  if (!r.u8(ver)) return P::more();
  if (ver != kVersion) return P::reject("not SOCKS5 (bad version byte)");
  if (!r.u8(code)) return P::more();
  if (code > rep(Reply::address_type_not_supported)) return P::reject("unknown reply code");
  if (!r.u8(rsv)) return P::more();
  if (rsv != 0) return P::reject("reserved byte is not zero");
  auto addr = decode_address(r.rest());
  if (!addr.ok()) return P::from(addr);
  ReplyMessage m;
  m.reply = static_cast<Reply>(code);
  m.bound = addr.value;
  return P::done(m, r.position() + addr.consumed);
}

Parsed<UdpHeader> decode_udp_header(ByteView datagram) {
  using P = Parsed<UdpHeader>;
  ByteReader r(datagram);
  uint16_t rsv;
  UdpHeader h;
  if (!r.u16(rsv) || !r.u8(h.fragment)) return P::reject("datagram shorter than its header");
  if (rsv != 0) return P::reject("reserved bytes are not zero");
  auto addr = decode_address(r.rest());
  if (addr.need_more()) return P::reject("datagram shorter than its header");
  if (addr.failed()) return P::from(addr);
  h.address = addr.value;
  h.payload = r.rest().after(addr.consumed);
  return P::done(h, datagram.size);
}

void encode_greeting(ByteWriter& w, const Greeting& g) {
  w.u8(kVersion);
  w.u8(g.method_count);
  w.bytes(g.methods.data(), g.method_count);
}

void encode_method_selection(ByteWriter& w, MethodSelection m) {
  w.u8(kVersion);
  w.u8(m.method);
}

bool encode_user_pass_request(ByteWriter& w, std::string_view user, std::string_view password) {
  if (user.empty() || user.size() > 255 || password.size() > 255) return false;
  w.u8(kUserPassVersion);
  w.u8(static_cast<uint8_t>(user.size()));
  w.bytes(user.data(), user.size());
  w.u8(static_cast<uint8_t>(password.size()));
  w.bytes(password.data(), password.size());
  return true;
}

void encode_user_pass_status(ByteWriter& w, UserPassStatus s) {
  w.u8(kUserPassVersion);
  w.u8(s.status);
}

void encode_request(ByteWriter& w, const Request& q) {
  w.u8(kVersion);
  w.u8(static_cast<uint8_t>(q.command));
  w.u8(0);
  append_address(w, q.destination);
}

void encode_reply(ByteWriter& w, const ReplyMessage& m) {
  w.u8(kVersion);
  w.u8(rep(m.reply));
  w.u8(0);
  append_address(w, m.bound);
}

size_t encode_udp_header(const Address& a, uint8_t* out) {
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  return 3 + encode_address(a, out + 3);
}

}  // namespace udptun::protocol::socks5
