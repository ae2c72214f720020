#include <cstring>

#include "udptun/protocol/frame.hpp"

namespace udptun::protocol {

namespace {

using P = Parsed<Frame>;

uint8_t type_of(const Frame& f) {
  struct Visitor {
    uint8_t operator()(const OpenFlow&) const { return uint8_t(FrameType::open_flow); }
    uint8_t operator()(const Data&) const { return uint8_t(FrameType::data); }
    uint8_t operator()(const CloseFlow&) const { return uint8_t(FrameType::close_flow); }
    uint8_t operator()(const Ping&) const { return uint8_t(FrameType::ping); }
    uint8_t operator()(const Pong&) const { return uint8_t(FrameType::pong); }
    uint8_t operator()(const GoAway&) const { return uint8_t(FrameType::goaway); }
    uint8_t operator()(const FlowStatus&) const { return uint8_t(FrameType::flow_status); }
    uint8_t operator()(const Lanes&) const { return uint8_t(FrameType::lanes); }
    uint8_t operator()(const SequencedData&) const { return uint8_t(FrameType::sequenced_data); }
    uint8_t operator()(const Extension& e) const { return e.type; }
  };
  return std::visit(Visitor{}, f);
}

// Reads an address that must fill exactly up to `end` or be followed by more fields: a
// truncated address inside a complete body is an error, not need_more.
bool read_address(ByteReader& r, Address& out, const char*& why, uint8_t& code) {
  auto a = decode_address(r.rest());
  if (a.failed()) {
    why = a.error;
    code = a.code;
    return false;
  }
  if (a.need_more()) {
    why = "address runs past the end of the frame";
    return false;
  }
  ByteView skipped;
  r.view(skipped, a.consumed);
  out = a.value;
  return true;
}

P decode_open_flow(uint8_t flags, ByteReader& r) {
  const char* why = nullptr;
  uint8_t code = 0;
  if (flags & ~frame_flag::kHasSource) return P::reject("unknown OPEN_FLOW flags");
  OpenFlow f;
  if (!r.u32(f.flow_id)) return P::reject("OPEN_FLOW too short");
  if (!read_address(r, f.target, why, code)) return P::reject(why, code);
  f.has_source = flags & frame_flag::kHasSource;
  if (f.has_source && !read_address(r, f.source, why, code)) return P::reject(why, code);
  if (f.has_source && f.source.type == AddressType::domain) {
    return P::reject("OPEN_FLOW source must be an IP address");
  }
  if (r.remaining() != 0) return P::reject("OPEN_FLOW has trailing bytes");
  return P::done(f, 0);
}

// DATA's and SEQUENCED_DATA's end: the address (when flagged) and the payload.
template <class D>
P finish_datagram(uint8_t flags, ByteReader& r, D d) {
  const char* why = nullptr;
  uint8_t code = 0;
  d.has_address = flags & frame_flag::kHasAddress;
  if (d.has_address && !read_address(r, d.address, why, code)) return P::reject(why, code);
  d.payload = r.rest();
  if (d.payload.size > kMaxDatagram) return P::reject("DATA payload larger than a datagram");
  return P::done(d, 0);
}

P decode_data(uint8_t flags, ByteReader& r) {
  if (flags & ~frame_flag::kHasAddress) return P::reject("unknown DATA flags");
  Data d;
  if (!r.u32(d.flow_id)) return P::reject("DATA too short");
  return finish_datagram(flags, r, d);
}

P decode_close_flow(uint8_t flags, ByteReader& r) {
  CloseFlow c;
  uint8_t reason;
  if (flags != 0) return P::reject("unknown CLOSE_FLOW flags");
  if (!r.u32(c.flow_id) || !r.u8(reason) || r.remaining() != 0) {
    return P::reject("CLOSE_FLOW must be 5 bytes");
  }
  if (reason > uint8_t(CloseReason::refused)) return P::reject("unknown CLOSE_FLOW reason");
  c.reason = static_cast<CloseReason>(reason);
  return P::done(c, 0);
}

P decode_ping_pong(uint8_t type, uint8_t flags, ByteReader& r) {
  uint64_t v;
  if (flags != 0) return P::reject("unknown PING/PONG flags");
  if (!r.u64(v) || r.remaining() != 0) return P::reject("PING/PONG must be 8 bytes");
  if (type == uint8_t(FrameType::ping)) return P::done(Ping{v}, 0);
  return P::done(Pong{v}, 0);
}

P decode_goaway(uint8_t flags, ByteReader& r) {
  GoAway g;
  uint8_t reason;
  if (flags != 0) return P::reject("unknown GOAWAY flags");
  if (!r.u8(reason)) return P::reject("GOAWAY too short");
  if (reason > uint8_t(GoAwayReason::replaced)) return P::reject("unknown GOAWAY reason");
  g.reason = static_cast<GoAwayReason>(reason);
  g.message = r.rest();
  if (g.message.size > kMaxGoAwayMessage) return P::reject("GOAWAY message too long");
  return P::done(g, 0);
}

P decode_flow_status(uint8_t flags, ByteReader& r) {
  const char* why = nullptr;
  uint8_t code = 0;
  if (flags & ~frame_flag::kHasAddress) return P::reject("unknown FLOW_STATUS flags");
  FlowStatus s;
  uint8_t state;
  if (!r.u32(s.flow_id) || !r.u8(state)) return P::reject("FLOW_STATUS too short");
  if (state > uint8_t(FlowState::socket_error)) return P::reject("unknown FLOW_STATUS state");
  s.state = static_cast<FlowState>(state);
  s.has_bound = flags & frame_flag::kHasAddress;
  if (s.has_bound && !read_address(r, s.bound, why, code)) return P::reject(why, code);
  if (s.has_bound && s.bound.type == AddressType::domain) {
    return P::reject("FLOW_STATUS bound address must be an IP address");
  }
  if (r.remaining() != 0) return P::reject("FLOW_STATUS has trailing bytes");
  return P::done(s, 0);
}

// Extensions we know: a peer that sends one claims to speak it, so a malformed one is
// an error like any other frame's.
P decode_lanes(uint8_t flags, ByteReader& r) {
  Lanes l;
  if (flags != 0) return P::reject("unknown LANES flags");
  if (!r.u8(l.count) || !r.u8(l.features) || r.remaining() != 0)
    return P::reject("LANES must be 2 bytes");
  if (l.count == 0 || l.count > kMaxLanes) return P::reject("LANES count out of range");
  return P::done(l, 0);
}

P decode_sequenced_data(uint8_t flags, ByteReader& r) {
  if (flags & ~frame_flag::kHasAddress) return P::reject("unknown SEQUENCED_DATA flags");
  SequencedData d;
  if (!r.u32(d.flow_id) || !r.u32(d.seq)) return P::reject("SEQUENCED_DATA too short");
  return finish_datagram(flags, r, d);
}

P decode_body(uint8_t type, uint8_t flags, ByteView body) {
  ByteReader r(body);
  switch (static_cast<FrameType>(type)) {
    case FrameType::open_flow:
      return decode_open_flow(flags, r);
    case FrameType::data:
      return decode_data(flags, r);
    case FrameType::close_flow:
      return decode_close_flow(flags, r);
    case FrameType::ping:
    case FrameType::pong:
      return decode_ping_pong(type, flags, r);
    case FrameType::goaway:
      return decode_goaway(flags, r);
    case FrameType::flow_status:
      return decode_flow_status(flags, r);
    case FrameType::lanes:
      return decode_lanes(flags, r);
    case FrameType::sequenced_data:
      return decode_sequenced_data(flags, r);
  }
  if (type >= kFirstExtensionType) return P::done(Extension{type, flags, body}, 0);
  return P::reject("reserved frame type");
}

}  // namespace

Parsed<Frame> decode_frame(ByteView in) {
  if (in.size >= 1) {
    uint8_t type = in[0];
    if (type == 0 || (type > uint8_t(FrameType::flow_status) && type < kFirstExtensionType)) {
      return P::reject("reserved frame type");
    }
  }
  if (in.size < kFrameHeaderSize) return P::more();
  uint8_t type = in[0];
  uint8_t flags = in[1];
  uint32_t length = load_u32(in.data + 2);
  // Judge the length before waiting for the body: a hostile length must not make the
  // caller buffer anything.
  if (length > kMaxFrameBody) return P::reject("frame length over the maximum");
  if (in.size - kFrameHeaderSize < length) return P::more();
  P p = decode_body(type, flags, ByteView(in.data + kFrameHeaderSize, length));
  if (p.ok()) p.consumed = kFrameHeaderSize + length;
  return p;
}

namespace {

// DATA and SEQUENCED_DATA share their layout: flow id, `seq` when sequenced, the address.
size_t encode_datagram_prefix(uint8_t* out, FrameType type, uint32_t flow_id, const uint32_t* seq,
                              const Address* address, size_t payload_size) {
  size_t n = kFrameHeaderSize;
  store_u32(out + n, flow_id);
  n += 4;
  if (seq) {
    store_u32(out + n, *seq);
    n += 4;
  }
  if (address) n += encode_address(*address, out + n);
  out[0] = uint8_t(type);
  out[1] = address ? frame_flag::kHasAddress : 0;
  store_u32(out + 2, static_cast<uint32_t>(n - kFrameHeaderSize + payload_size));
  return n;
}

}  // namespace

size_t encode_data_prefix(uint8_t* out, uint32_t flow_id, const Address* address,
                          size_t payload_size) {
  return encode_datagram_prefix(out, FrameType::data, flow_id, nullptr, address, payload_size);
}

size_t encode_sequenced_prefix(uint8_t* out, uint32_t flow_id, uint32_t seq, const Address* address,
                               size_t payload_size) {
  return encode_datagram_prefix(out, FrameType::sequenced_data, flow_id, &seq, address,
                                payload_size);
}

void append_frame(std::vector<uint8_t>& out, const Frame& f) {
  size_t start = out.size();
  out.resize(start + kFrameHeaderSize);  // header filled in once the body length is known
  ByteWriter w(out);
  uint8_t flags = 0;
  if (auto* o = std::get_if<OpenFlow>(&f)) {
    w.u32(o->flow_id);
    append_address(w, o->target);
    if (o->has_source) {
      flags = frame_flag::kHasSource;
      append_address(w, o->source);
    }
  } else if (auto* d = std::get_if<Data>(&f)) {
    w.u32(d->flow_id);
    if (d->has_address) {
      flags = frame_flag::kHasAddress;
      append_address(w, d->address);
    }
    w.bytes(d->payload);
  } else if (auto* c = std::get_if<CloseFlow>(&f)) {
    w.u32(c->flow_id);
    w.u8(uint8_t(c->reason));
  } else if (auto* p = std::get_if<Ping>(&f)) {
    w.u64(p->value);
  } else if (auto* q = std::get_if<Pong>(&f)) {
    w.u64(q->value);
  } else if (auto* g = std::get_if<GoAway>(&f)) {
    w.u8(uint8_t(g->reason));
    w.bytes(g->message.first(kMaxGoAwayMessage));
  } else if (auto* s = std::get_if<FlowStatus>(&f)) {
    w.u32(s->flow_id);
    w.u8(uint8_t(s->state));
    if (s->has_bound) {
      flags = frame_flag::kHasAddress;
      append_address(w, s->bound);
    }
  } else if (auto* l = std::get_if<Lanes>(&f)) {
    w.u8(l->count);
    w.u8(l->features);
  } else if (auto* sd = std::get_if<SequencedData>(&f)) {
    w.u32(sd->flow_id);
    w.u32(sd->seq);
    if (sd->has_address) {
      flags = frame_flag::kHasAddress;
      append_address(w, sd->address);
    }
    w.bytes(sd->payload);
  } else if (auto* e = std::get_if<Extension>(&f)) {
    flags = e->flags;
    w.bytes(e->body);
  }
  out[start] = type_of(f);
  out[start + 1] = flags;
  store_u32(out.data() + start + 2, static_cast<uint32_t>(out.size() - start - kFrameHeaderSize));
}

}  // namespace udptun::protocol
