#include "udptun/protocol/udp_over_socks5.hpp"

#include <cstring>

#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/socks5.hpp"

namespace udptun::protocol::socks5 {

namespace {

uint8_t uot_family(AddressType t) {
  return t == AddressType::ipv4 ? 0 : t == AddressType::ipv6 ? 1 : 2;
}

void put_reply(std::vector<uint8_t>& answer, Reply r) {
  ByteWriter w(answer);
  ReplyMessage m;
  m.reply = r;
  uint8_t any[4] = {0, 0, 0, 0};
  m.bound = Address::ipv4(any, 0);  // nothing to bind: the datagrams stay on this stream
  encode_reply(w, m);
}

}  // namespace

Parsed<Address> decode_uot_address(ByteView in) {
  if (in.empty()) return Parsed<Address>::more();
  uint8_t family = in[0];
  if (family > 2) return Parsed<Address>::reject("unknown UDP-over-TCP address family");
  // The same layout as SOCKS5's after the family byte: parsed as SOCKS5 with its ATYP.
  std::array<uint8_t, kMaxEncodedAddress> copy;
  size_t n = in.size < copy.size() ? in.size : copy.size();
  std::memcpy(copy.data(), in.data, n);
  copy[0] = static_cast<uint8_t>(family == 0   ? AddressType::ipv4
                                 : family == 1 ? AddressType::ipv6
                                               : AddressType::domain);
  return decode_address(ByteView(copy.data(), n));
}

size_t encode_uot_address(const Address& a, uint8_t* out) {
  size_t n = encode_address(a, out);
  out[0] = uot_family(a.type);
  return n;
}

Parsed<DatagramHeader> decode_fwd_udp_header(ByteView in) {
  using P = Parsed<DatagramHeader>;
  // DATLEN (2, big-endian), HDRLEN (1), ADDRESS.
  if (in.size < 3) return P::more();
  DatagramHeader h;
  h.length = static_cast<size_t>(in[0]) << 8 | in[1];
  size_t header = in[2];
  if (header < 3 + 1 + 4 + 2) return P::reject("FWD UDP: header length too short");
  auto a = decode_address(in.after(3));
  if (a.need_more())
    return in.size >= header ? P::reject("FWD UDP: header length does not match its address")
                             : P::more();
  if (a.failed()) return P::from(a);
  if (3 + a.consumed != header)
    return P::reject("FWD UDP: header length does not match its address");
  h.address = a.value;
  return P::done(h, header);
}

Parsed<DatagramHeader> decode_uot_header(ByteView in, bool with_address) {
  using P = Parsed<DatagramHeader>;
  // ADDRESS (unless connected), LENGTH (2, big-endian).
  DatagramHeader h;
  size_t at = 0;
  if (with_address) {
    auto a = decode_uot_address(in);
    if (!a.ok()) return P::from(a);
    h.address = a.value;
    at = a.consumed;
  }
  if (in.size < at + 2) return P::more();
  h.length = static_cast<size_t>(in[at]) << 8 | in[at + 1];
  return P::done(h, at + 2);
}

UdpOverSocks5Translator::UdpOverSocks5Translator(std::string user, std::string password)
    : user_(std::move(user)), password_(std::move(password)) {}

size_t UdpOverSocks5Translator::give_up(const char* why) {
  error_ = why;
  return 0;
}

size_t UdpOverSocks5Translator::take_one(ByteView in, std::vector<uint8_t>& frames,
                                         std::vector<uint8_t>& answer) {
  switch (step_) {
    case Step::greeting:
      return take_greeting(in, answer);
    case Step::credentials:
      return take_credentials(in, answer);
    case Step::request:
      return take_request(in, answer);
    case Step::done:
      break;
  }
  if (mode_ == Mode::uot_v2_request) return take_uot_request(in);
  return take_datagram(in, frames);
}

size_t UdpOverSocks5Translator::take_greeting(ByteView in, std::vector<uint8_t>& answer) {
  auto g = decode_greeting(in);
  if (g.need_more()) return 0;
  if (g.failed()) return give_up(g.error);
  uint8_t wanted = user_.empty() ? method::kNoAuth : method::kUserPass;
  ByteWriter w(answer);
  if (!g.value.offers(wanted)) {
    encode_method_selection(w, MethodSelection{method::kNoAcceptable});
    return give_up(user_.empty() ? "SOCKS5: the client offers no method without credentials"
                                 : "SOCKS5: the client offers no user/password method");
  }
  encode_method_selection(w, MethodSelection{wanted});
  step_ = user_.empty() ? Step::request : Step::credentials;
  return g.consumed;
}

size_t UdpOverSocks5Translator::take_credentials(ByteView in, std::vector<uint8_t>& answer) {
  auto c = decode_user_pass_request(in);
  if (c.need_more()) return 0;
  if (c.failed()) return give_up(c.error);
  bool ok = c.value.user_name() == user_ && c.value.password_text() == password_;
  ByteWriter w(answer);
  encode_user_pass_status(w, UserPassStatus{static_cast<uint8_t>(ok ? 0 : 1)});
  if (!ok) return give_up("SOCKS5: wrong user name or password");
  step_ = Step::request;
  return c.consumed;
}

size_t UdpOverSocks5Translator::take_request(ByteView in, std::vector<uint8_t>& answer) {
  // VER CMD RSV ADDRESS: parsed here, as FWD UDP (0x05) is no command of RFC 1928.
  if (in.size < 3) return 0;
  if (in[0] != kVersion) return give_up("not SOCKS5 (bad version byte)");
  if (in[2] != 0) {
    put_reply(answer, Reply::general_failure);
    return give_up("SOCKS5: reserved byte is not zero");
  }
  auto a = decode_address(in.after(3));
  if (a.need_more()) return 0;
  if (a.failed()) {
    put_reply(answer, Reply::address_type_not_supported);
    return give_up(a.error);
  }
  uint8_t command = in[1];
  std::string_view name = a.value.domain_name();
  if (command == kCommandFwdUdp) {
    mode_ = Mode::fwd_udp;
  } else if (command == static_cast<uint8_t>(Command::connect) &&
             a.value.type == AddressType::domain && name == kUotV1Name) {
    mode_ = Mode::uot_v1;
  } else if (command == static_cast<uint8_t>(Command::connect) &&
             a.value.type == AddressType::domain && name == kUotV2Name) {
    mode_ = Mode::uot_v2_request;
  } else if (command == static_cast<uint8_t>(Command::connect)) {
    put_reply(answer, Reply::not_allowed);  // not an open proxy
    return give_up("SOCKS5: CONNECT is served only to the UDP-over-TCP names");
  } else {
    put_reply(answer, Reply::command_not_supported);
    return give_up("SOCKS5: only FWD UDP and UDP-over-TCP are served");
  }
  put_reply(answer, Reply::succeeded);
  step_ = Step::done;
  return 3 + a.consumed;
}

size_t UdpOverSocks5Translator::take_uot_request(ByteView in) {
  // IS_CONNECT (1 byte), then a SOCKS5 address.
  if (in.empty()) return 0;
  if (in[0] > 1) return give_up("UDP-over-TCP: bad request");
  auto a = decode_address(in.after(1));
  if (a.need_more()) return 0;
  if (a.failed()) return give_up(a.error);
  if (in[0] == 1) {
    mode_ = Mode::uot_v2;
    target_ = a.value;  // every datagram goes there, and comes back without an address
  } else {
    mode_ = Mode::uot_v1;  // the v1 framing from here on
  }
  return 1 + a.consumed;
}

size_t UdpOverSocks5Translator::take_datagram(ByteView in, std::vector<uint8_t>& frames) {
  auto h = mode_ == Mode::fwd_udp ? decode_fwd_udp_header(in)
                                  : decode_uot_header(in, mode_ != Mode::uot_v2);
  if (h.failed()) return give_up(h.error);
  if (h.need_more() || in.size < h.consumed + h.value.length) return 0;
  datagram(mode_ == Mode::uot_v2 ? target_ : h.value.address,
           ByteView(in.data + h.consumed, h.value.length), frames);
  return h.consumed + h.value.length;
}

void UdpOverSocks5Translator::datagram(const Address& to, ByteView payload,
                                       std::vector<uint8_t>& frames) {
  counters_.datagrams_in++;
  if (payload.size > kMaxDatagram) {
    counters_.oversize++;
    return;
  }
  if (!flow_open_) {
    // The association's one flow (again after the server closed or refused it).
    flow_open_ = true;
    flow_id_++;
    if (mode_ != Mode::uot_v2) target_ = to;
    OpenFlow open;
    open.flow_id = flow_id_;
    open.target = target_;
    append_frame(frames, open);
  }
  Data d;
  d.flow_id = flow_id_;
  if (to != target_) {
    // Another destination through the same socket; a name the server would have to resolve
    // for it is not supported (only the flow's first destination may be one).
    if (!to.is_ip()) {
      counters_.other_name_dropped++;
      return;
    }
    d.has_address = true;
    d.address = to;
  }
  d.payload = payload;
  append_frame(frames, d);
}

void UdpOverSocks5Translator::translate(const Frame& frame, std::vector<uint8_t>& wire) {
  if (auto* d = std::get_if<Data>(&frame)) {
    if (!flow_open_ || d->flow_id != flow_id_) {
      counters_.orphans++;
      return;
    }
    const Address& from = d->has_address ? d->address : target_;
    if (mode_ == Mode::fwd_udp)
      append_fwd_udp_datagram(wire, from, d->payload);
    else
      append_uot_datagram(wire, mode_ == Mode::uot_v2 ? nullptr : &from, d->payload);
  } else if (auto* c = std::get_if<CloseFlow>(&frame)) {
    if (c->flow_id == flow_id_) flow_open_ = false;  // the next datagram opens it again
  } else if (auto* st = std::get_if<FlowStatus>(&frame)) {
    if (st->flow_id == flow_id_ && st->state != FlowState::open) flow_open_ = false;
  }
  // PING, PONG, GOAWAY, LANES: nothing to say them with.
}

void append_fwd_udp_datagram(std::vector<uint8_t>& out, const Address& address, ByteView payload) {
  uint8_t head[3 + kMaxEncodedAddress];
  size_t a = encode_address(address, head + 3);
  head[0] = static_cast<uint8_t>(payload.size >> 8);
  head[1] = static_cast<uint8_t>(payload.size);
  head[2] = static_cast<uint8_t>(3 + a);
  out.insert(out.end(), head, head + 3 + a);
  out.insert(out.end(), payload.data, payload.data + payload.size);
}

void append_uot_datagram(std::vector<uint8_t>& out, const Address* address, ByteView payload) {
  uint8_t head[kMaxEncodedAddress + 2];
  size_t n = address ? encode_uot_address(*address, head) : 0;
  head[n++] = static_cast<uint8_t>(payload.size >> 8);
  head[n++] = static_cast<uint8_t>(payload.size);
  out.insert(out.end(), head, head + n);
  out.insert(out.end(), payload.data, payload.data + payload.size);
}

}  // namespace udptun::protocol::socks5

namespace udptun::protocol::socks5 {

UdpOverSocks5ClientTranslator::UdpOverSocks5ClientTranslator(Kind kind, std::string user,
                                                             std::string password)
    : kind_(kind), user_(std::move(user)), password_(std::move(password)) {}

size_t UdpOverSocks5ClientTranslator::give_up(const char* why) {
  error_ = why;
  return 0;
}

void UdpOverSocks5ClientTranslator::start(std::vector<uint8_t>& wire) {
  ByteWriter w(wire);
  Greeting g;
  g.method_count = 1;
  g.methods[0] = user_.empty() ? method::kNoAuth : method::kUserPass;
  encode_greeting(w, g);
}

void UdpOverSocks5ClientTranslator::write_request(std::vector<uint8_t>& out) {
  ByteWriter w(out);
  if (kind_ == Kind::fwd_udp) {
    // VER CMD=0x05 RSV, then 0.0.0.0:0 (hev-socks5-tunnel sends the same).
    const uint8_t request[] = {kVersion, kCommandFwdUdp, 0, 1, 0, 0, 0, 0, 0, 0};
    w.bytes(request, sizeof request);
    return;
  }
  Request r;
  r.command = Command::connect;
  r.destination = *Address::from_domain(kUotV2Name, 0);
  encode_request(w, r);
}

size_t UdpOverSocks5ClientTranslator::take_one(ByteView in, std::vector<uint8_t>& frames,
                                               std::vector<uint8_t>& answer) {
  switch (step_) {
    case Step::method: {
      auto m = decode_method_selection(in);
      if (m.need_more()) return 0;
      if (m.failed()) return give_up(m.error);
      uint8_t wanted = user_.empty() ? method::kNoAuth : method::kUserPass;
      if (m.value.method != wanted)
        return give_up(user_.empty() ? "SOCKS5: the server wants credentials"
                                     : "SOCKS5: the server refuses user/password");
      ByteWriter w(answer);
      if (user_.empty()) {
        write_request(answer);
        step_ = Step::reply;
      } else {
        encode_user_pass_request(w, user_, password_);
        step_ = Step::credentials;
      }
      return m.consumed;
    }
    case Step::credentials: {
      auto s = decode_user_pass_status(in);
      if (s.need_more()) return 0;
      if (s.failed()) return give_up(s.error);
      if (s.value.status != 0) return give_up("SOCKS5: the server refused our credentials");
      write_request(answer);
      step_ = Step::reply;
      return s.consumed;
    }
    case Step::reply: {
      auto r = decode_reply(in);
      if (r.need_more()) return 0;
      if (r.failed()) return give_up(r.error);
      if (r.value.reply != Reply::succeeded)
        return give_up(kind_ == Kind::fwd_udp ? "SOCKS5: the server refused FWD UDP"
                                              : "SOCKS5: the server refused UDP-over-TCP");
      if (kind_ == Kind::uot) {
        // Version 2, not connected: IS_CONNECT 0 and an address (not used), then datagrams
        // each with its address.
        const uint8_t request[] = {0, 1, 0, 0, 0, 0, 0, 0};
        answer.insert(answer.end(), request, request + sizeof request);
      }
      step_ = Step::datagrams;
      answer.insert(answer.end(), held_.begin(), held_.end());
      held_.clear();
      held_.shrink_to_fit();
      return r.consumed;
    }
    case Step::datagrams:
      break;
  }
  // A reply: FWD UDP (DATLEN HDRLEN ADDRESS DATA) or UoT (ADDRESS LENGTH DATA).
  auto h = kind_ == Kind::fwd_udp ? decode_fwd_udp_header(in) : decode_uot_header(in, true);
  if (h.failed()) return give_up(h.error);
  if (h.need_more() || in.size < h.consumed + h.value.length) return 0;
  const Address& from = h.value.address;
  size_t header = h.consumed, length = h.value.length;
  if (has_flow_) {
    Data d;
    d.flow_id = flow_id_;
    d.has_address = from != target_;
    d.address = from;
    d.payload = ByteView(in.data + header, length);
    append_frame(frames, d);
  }
  return header + length;
}

void UdpOverSocks5ClientTranslator::translate(const Frame& frame, std::vector<uint8_t>& wire) {
  if (auto* o = std::get_if<OpenFlow>(&frame)) {
    has_flow_ = true;
    flow_id_ = o->flow_id;
    target_ = o->target;
    return;
  }
  const Data* d = std::get_if<Data>(&frame);
  if (!d || !has_flow_ || d->flow_id != flow_id_) return;  // PING, CLOSE_FLOW, LANES…
  const Address& to = d->has_address ? d->address : target_;
  std::vector<uint8_t>* out = &wire;
  if (step_ != Step::datagrams) {
    if (held_.size() + d->payload.size > kMaxHeldBytes) {
      dropped_++;
      return;
    }
    out = &held_;
  }
  if (kind_ == Kind::fwd_udp)
    append_fwd_udp_datagram(*out, to, d->payload);
  else
    append_uot_datagram(*out, &to, d->payload);
}

}  // namespace udptun::protocol::socks5
