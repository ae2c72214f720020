#include "udptun/protocol/udpgw.hpp"

#include <cstring>

#include "udptun/protocol/frame.hpp"

namespace udptun::protocol::udpgw {

namespace {

constexpr size_t kIpv4AddressSize = 4 + 2;
constexpr size_t kIpv6AddressSize = 16 + 2;

size_t body_length(const uint8_t* p) {
  return static_cast<size_t>(p[0]) | static_cast<size_t>(p[1]) << 8;  // little-endian
}

}  // namespace

Parsed<Packet> decode_packet(ByteView in) {
  if (in.size < kLengthSize) return Parsed<Packet>::more();
  size_t len = body_length(in.data);
  if (in.size < kLengthSize + len) return Parsed<Packet>::more();
  size_t consumed = kLengthSize + len;
  ByteView body(in.data + kLengthSize, len);
  auto skip = [&](const char* why) {
    Parsed<Packet> p = Parsed<Packet>::reject(why);
    p.consumed = consumed;  // the packet alone is bad: the stream goes on after it
    return p;
  };
  if (body.size < kHeaderSize) return skip("udpgw packet shorter than its header");
  Packet p;
  p.flags = body[0];
  p.conid = static_cast<uint16_t>(body[1] | body[2] << 8);  // little-endian
  body = body.after(kHeaderSize);
  if (p.flags & flag::kKeepalive) return Parsed<Packet>::done(p, consumed);
  if (p.flags & flag::kIpv6) {
    if (body.size < kIpv6AddressSize) return skip("udpgw packet shorter than its IPv6 address");
    uint8_t ip[16];
    std::memcpy(ip, body.data, 16);
    p.address = Address::ipv6(ip, static_cast<uint16_t>(body[16] << 8 | body[17]));
    body = body.after(kIpv6AddressSize);
  } else {
    if (body.size < kIpv4AddressSize) return skip("udpgw packet shorter than its IPv4 address");
    uint8_t ip[4];
    std::memcpy(ip, body.data, 4);
    p.address = Address::ipv4(ip, static_cast<uint16_t>(body[4] << 8 | body[5]));
    body = body.after(kIpv4AddressSize);
  }
  p.has_address = true;
  p.payload = body;
  return Parsed<Packet>::done(p, consumed);
}

bool append_packet(std::vector<uint8_t>& out, uint8_t flags, uint16_t conid, const Address* address,
                   ByteView payload) {
  size_t address_size = 0;
  if (address) {
    if (address->type == AddressType::ipv4)
      address_size = kIpv4AddressSize;
    else if (address->type == AddressType::ipv6)
      address_size = kIpv6AddressSize;
    else
      return false;
  }
  size_t len = kHeaderSize + address_size + payload.size;
  if (len > kMaxPacketBody) return false;
  if (address && address->type == AddressType::ipv6) flags |= flag::kIpv6;
  uint8_t head[kLengthSize + kHeaderSize + kIpv6AddressSize];
  head[0] = static_cast<uint8_t>(len);
  head[1] = static_cast<uint8_t>(len >> 8);
  head[2] = flags;
  head[3] = static_cast<uint8_t>(conid);
  head[4] = static_cast<uint8_t>(conid >> 8);
  size_t n = kLengthSize + kHeaderSize;
  if (address) {
    size_t ip_size = address_size - 2;
    std::memcpy(head + n, address->ip.data(), ip_size);
    n += ip_size;
    head[n++] = static_cast<uint8_t>(address->port >> 8);
    head[n++] = static_cast<uint8_t>(address->port);
  }
  out.insert(out.end(), head, head + n);
  out.insert(out.end(), payload.data, payload.data + payload.size);
  return true;
}

UdpgwTranslator::UdpgwTranslator(size_t max_ids, std::optional<Address> dns)
    : max_ids_(max_ids == 0 ? 1 : max_ids), dns_(std::move(dns)) {}

size_t UdpgwTranslator::take_one(ByteView in, std::vector<uint8_t>& frames, std::vector<uint8_t>&) {
  auto parsed = decode_packet(in);
  if (parsed.need_more()) return 0;
  if (parsed.ok())
    on_packet(parsed.value, frames);
  else
    counters_.malformed++;
  return parsed.consumed;
}

void UdpgwTranslator::on_packet(const Packet& p, std::vector<uint8_t>& frames) {
  counters_.packets_in++;
  if (p.flags & flag::kKeepalive) {
    // A heartbeat: the engine hears it as a PING (its PONG is dropped on the way back).
    counters_.keepalives++;
    append_frame(frames, Ping{0});
    return;
  }
  if (p.payload.size > kMaxDatagram) {
    counters_.oversize++;
    return;
  }
  auto it = by_conid_.find(p.conid);
  if (it != by_conid_.end() && ((p.flags & flag::kRebind) || it->second.address != p.address)) {
    counters_.rebinds++;
    close_id(p.conid, frames);
    it = by_conid_.end();
  }
  if (it == by_conid_.end()) {
    if (by_conid_.size() >= max_ids_) {
      counters_.evicted++;
      close_id(recent_.back(), frames);
    }
    uint32_t id = next_flow_id_++;
    if (next_flow_id_ == 0) next_flow_id_ = 1;
    OpenFlow open;
    open.flow_id = id;
    open.target = (p.flags & flag::kDns) && dns_ ? *dns_ : p.address;
    append_frame(frames, open);
    recent_.push_front(p.conid);
    it = by_conid_.emplace(p.conid, Connection{id, p.address, recent_.begin()}).first;
    by_flow_[id] = p.conid;
  } else {
    recent_.splice(recent_.begin(), recent_, it->second.recent);
  }
  Data d;
  d.flow_id = it->second.flow_id;
  d.payload = p.payload;
  append_frame(frames, d);
}

void UdpgwTranslator::close_id(uint16_t conid, std::vector<uint8_t>& frames) {
  auto it = by_conid_.find(conid);
  if (it == by_conid_.end()) return;
  append_frame(frames, CloseFlow{it->second.flow_id, CloseReason::normal});
  by_flow_.erase(it->second.flow_id);
  recent_.erase(it->second.recent);
  by_conid_.erase(it);
}

void UdpgwTranslator::forget_flow(uint32_t flow_id) {
  auto f = by_flow_.find(flow_id);
  if (f == by_flow_.end()) return;
  auto it = by_conid_.find(f->second);
  if (it != by_conid_.end()) {
    recent_.erase(it->second.recent);
    by_conid_.erase(it);
  }
  by_flow_.erase(f);
}

void UdpgwTranslator::translate(const Frame& frame, std::vector<uint8_t>& wire) {
  if (auto* d = std::get_if<Data>(&frame)) {
    auto f = by_flow_.find(d->flow_id);
    if (f == by_flow_.end()) {
      counters_.orphans++;
      return;
    }
    const Connection& c = by_conid_.at(f->second);
    // The client's own address, whatever the reply's source: udpgw has no other way to say.
    append_packet(wire, 0, f->second, &c.address, d->payload);
  } else if (auto* c = std::get_if<CloseFlow>(&frame)) {
    forget_flow(c->flow_id);  // closed by the server (idle, evicted): the next datagram re-opens
  } else if (auto* s = std::get_if<FlowStatus>(&frame)) {
    if (s->state != FlowState::open) forget_flow(s->flow_id);  // refused: the next one retries
  }
  // PING, PONG, GOAWAY, LANES: udpgw has nothing to say them with.
}

}  // namespace udptun::protocol::udpgw

namespace udptun::protocol::udpgw {

UdpgwClientTranslator::UdpgwClientTranslator(size_t max_ids)
    : max_ids_(max_ids == 0 ? 1 : (max_ids > 65'536 ? 65'536 : max_ids)) {}

size_t UdpgwClientTranslator::take_one(ByteView in, std::vector<uint8_t>& frames,
                                       std::vector<uint8_t>&) {
  auto parsed = decode_packet(in);
  if (parsed.need_more()) return 0;
  if (parsed.ok() && parsed.value.has_address) reply(parsed.value, frames);
  return parsed.consumed;
}

void UdpgwClientTranslator::reply(const Packet& packet, std::vector<uint8_t>& frames) {
  auto it = by_conid_.find(packet.conid);
  if (it == by_conid_.end()) {
    counters_.unknown_replies++;
    return;
  }
  const Destination& d = it->second;
  auto target = targets_.find(d.flow_id);
  Data r;
  r.flow_id = d.flow_id;
  // The id's destination is where the reply is from, as far as udpgw tells.
  r.has_address = target == targets_.end() || target->second != d.address;
  r.address = d.address;
  r.payload = packet.payload;
  append_frame(frames, r);
}

void UdpgwClientTranslator::translate(const Frame& frame, std::vector<uint8_t>& wire) {
  if (auto* o = std::get_if<OpenFlow>(&frame)) {
    targets_[o->flow_id] = o->target;
  } else if (auto* d = std::get_if<Data>(&frame)) {
    send(d->flow_id, d->has_address ? &d->address : nullptr, d->payload, wire);
  } else if (auto* q = std::get_if<SequencedData>(&frame)) {
    send(q->flow_id, q->has_address ? &q->address : nullptr, q->payload, wire);
  } else if (auto* c = std::get_if<CloseFlow>(&frame)) {
    targets_.erase(c->flow_id);
    std::vector<uint16_t> ids;
    for (const auto& [conid, dest] : by_conid_)
      if (dest.flow_id == c->flow_id) ids.push_back(conid);
    for (uint16_t id : ids) release_id(id);
  } else if (std::holds_alternative<Ping>(frame)) {
    const uint8_t keepalive[] = {0x03, 0x00, flag::kKeepalive, 0x00, 0x00};
    wire.insert(wire.end(), keepalive, keepalive + sizeof keepalive);
  }
  // LANES, PONG, GOAWAY: nothing to say them with.
}

void UdpgwClientTranslator::release_id(uint16_t conid) {
  auto it = by_conid_.find(conid);
  if (it == by_conid_.end()) return;
  recent_.erase(it->second.recent);
  by_destination_.erase(key_of(it->second.flow_id, it->second.address));
  by_conid_.erase(it);
  free_ids_.push_back(conid);
}

void UdpgwClientTranslator::send(uint32_t flow_id, const Address* to, ByteView payload,
                                 std::vector<uint8_t>& wire) {
  auto target = targets_.find(flow_id);
  if (target == targets_.end()) return;  // never opened, or closed
  const Address& dest = to ? *to : target->second;
  if (!dest.is_ip()) {
    counters_.names_dropped++;
    return;
  }
  uint16_t conid = 0;
  uint8_t flags = 0;
  auto known = by_destination_.find(key_of(flow_id, dest));
  if (known != by_destination_.end()) {
    conid = known->second;
    recent_.splice(recent_.begin(), recent_, by_conid_.at(conid).recent);
  } else {
    if (!free_ids_.empty()) {
      conid = free_ids_.back();
      free_ids_.pop_back();
    } else if (next_id_ < max_ids_) {
      conid = static_cast<uint16_t>(next_id_++);
    } else {
      conid = recent_.back();  // the least recently used id goes to this destination
      counters_.ids_reused++;
      release_id(conid);
      free_ids_.pop_back();
    }
    flags = flag::kRebind;  // a (re)used id: the server drops what it had for it
    recent_.push_front(conid);
    by_conid_[conid] = Destination{flow_id, dest, recent_.begin()};
    by_destination_[key_of(flow_id, dest)] = conid;
  }
  append_packet(wire, flags, conid, &dest, payload);
}

}  // namespace udptun::protocol::udpgw
