// badvpn's udpgw protocol (docs/PROTOCOL.md §7.1): packets of a 2-byte little-endian length,
// then flags, a connection id and an address, then one datagram. The codec parses and builds
// packets; UdpgwTranslator turns a client's stream into udptun frames (one flow per
// connection id) and udptun's replies back into packets.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/parse_result.hpp"
#include "udptun/protocol/stream_codec.hpp"

namespace udptun::protocol::udpgw {

namespace flag {
constexpr uint8_t kKeepalive = 0x01;
constexpr uint8_t kRebind = 0x02;
constexpr uint8_t kDns = 0x04;
constexpr uint8_t kIpv6 = 0x08;
}  // namespace flag

constexpr size_t kLengthSize = 2;
constexpr size_t kHeaderSize = 3;  // flags, connection id
constexpr size_t kMaxPacketBody = 65'535;

struct Packet {
  uint8_t flags = 0;
  uint16_t conid = 0;
  bool has_address = false;  // absent in keepalives
  Address address;
  ByteView payload;  // points into the parsed bytes
};

// One packet from the front of `in` (length included). A body too short for its header or
// address is an error of that packet alone: `consumed` still covers it, so the caller can
// skip it and go on, as badvpn does.
Parsed<Packet> decode_packet(ByteView in);

// Appends one packet (length included); false when it would exceed kMaxPacketBody or the
// address is not an IP address.
bool append_packet(std::vector<uint8_t>& out, uint8_t flags, uint16_t conid, const Address* address,
                   ByteView payload);

struct TranslatorCounters {
  uint64_t packets_in = 0;
  uint64_t keepalives = 0;
  uint64_t malformed = 0;  // too short for their header or address
  uint64_t oversize = 0;   // datagrams over kMaxDatagram
  uint64_t evicted = 0;    // connection ids closed to make room for another
  uint64_t rebinds = 0;    // ids re-opened (REBIND, or another address)
  uint64_t orphans = 0;    // replies for a flow no id maps to any more
};

class UdpgwTranslator : public FrameTranslator {
 public:
  // `max_ids`: connection ids at once (the least recently used one goes past it); `dns`:
  // where DNS-flagged datagrams go (none: to their own address).
  UdpgwTranslator(size_t max_ids, std::optional<Address> dns);

  using FrameTranslator::decode;
  // Without a handshake there is never an answer.
  bool decode(ByteView wire, std::vector<uint8_t>& frames) {
    std::vector<uint8_t> none;
    return decode(wire, frames, none);
  }

  const TranslatorCounters& counters() const { return counters_; }
  size_t ids() const { return by_conid_.size(); }

 private:
  struct Connection {
    uint32_t flow_id;
    Address address;  // as the client gave it: replies carry it
    std::list<uint16_t>::iterator recent;
  };
  // A bad packet is skipped (badvpn does the same): the stream never fails here.
  size_t take_one(ByteView in, std::vector<uint8_t>& frames, std::vector<uint8_t>&) override;
  void on_packet(const Packet& p, std::vector<uint8_t>& frames);
  void close_id(uint16_t conid, std::vector<uint8_t>& frames);
  void translate(const Frame& frame, std::vector<uint8_t>& wire) override;
  void forget_flow(uint32_t flow_id);

  const size_t max_ids_;
  const std::optional<Address> dns_;
  std::unordered_map<uint16_t, Connection> by_conid_;
  std::unordered_map<uint32_t, uint16_t> by_flow_;
  std::list<uint16_t> recent_;  // most recent first
  uint32_t next_flow_id_ = 1;
  TranslatorCounters counters_;
};

// The client's side, for udp-local --server-protocol udpgw: udp-local's frames become udpgw
// packets for a badvpn-udpgw (or udp-server --udpgw-listen), its packets frames again. A flow
// takes a connection id per destination (udpgw binds an id to one address): its first datagram
// carries REBIND, as badvpn-tun2socks sends. Past `max_ids` (badvpn-udpgw keeps 256 per
// client) the least recently used id is reused. PING becomes a keepalive; udpgw has no answer
// to it, nor flow status, lanes or names (a flow to a name is dropped, counted).
struct ClientCounters {
  uint64_t ids_reused = 0;       // least recently used ids taken for another destination
  uint64_t unknown_replies = 0;  // packets for an id no flow holds
  uint64_t names_dropped = 0;    // datagrams of flows to a name: udpgw carries addresses only
};

class UdpgwClientTranslator : public FrameTranslator {
 public:
  explicit UdpgwClientTranslator(size_t max_ids);

  const ClientCounters& counters() const { return counters_; }
  size_t ids() const { return by_conid_.size(); }

 private:
  struct Destination {
    uint32_t flow_id;
    Address address;
    std::list<uint16_t>::iterator recent;
  };
  // (flow, destination IP and port) → id.
  struct Key {
    uint32_t flow_id;
    uint8_t type;
    std::array<uint8_t, 16> ip;
    uint16_t port;
    bool operator<(const Key& o) const {
      return std::tie(flow_id, type, ip, port) < std::tie(o.flow_id, o.type, o.ip, o.port);
    }
  };
  static Key key_of(uint32_t flow_id, const Address& a) {
    return Key{flow_id, static_cast<uint8_t>(a.type), a.ip, a.port};
  }
  // A server's keepalive, or junk, is skipped.
  size_t take_one(ByteView in, std::vector<uint8_t>& frames, std::vector<uint8_t>&) override;
  void translate(const Frame& frame, std::vector<uint8_t>& wire) override;
  void reply(const Packet& packet, std::vector<uint8_t>& frames);
  void send(uint32_t flow_id, const Address* to, ByteView payload, std::vector<uint8_t>& wire);
  void release_id(uint16_t conid);

  const size_t max_ids_;
  std::unordered_map<uint32_t, Address> targets_;       // flow → its target
  std::unordered_map<uint16_t, Destination> by_conid_;  // id → (flow, destination)
  std::map<Key, uint16_t> by_destination_;
  std::list<uint16_t> recent_;      // ids, most recent first
  std::vector<uint16_t> free_ids_;  // released, for reuse first
  uint32_t next_id_ = 0;            // ids never used yet: next_id_..
  ClientCounters counters_;
};

}  // namespace udptun::protocol::udpgw
