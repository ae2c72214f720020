// Datagrams on a SOCKS5 connection's own stream (docs/PROTOCOL.md §7.2, §7.3), translated to
// udptun frames for udp-server's --socks5-listen:
// - hev-socks5's FWD UDP (command 0x05): each datagram is DATLEN (2, big-endian), HDRLEN
// (1: 3 + the address's size), a SOCKS5 address, the payload;
// - sing-box's UDP-over-TCP, a CONNECT to sp.udp-over-tcp.arpa (v1) or sp.v2.udp-over-tcp.arpa
// (v2, which first sends a request: a "connect" byte and a SOCKS5 address): each datagram
// is an address (family 0 IPv4, 1 IPv6, 2 name) unless connected, LENGTH (2, big-endian),
// the payload.
// Whatever the protocol, the connection is one flow: one socket at the server for every
// destination (full cone, as hev-socks5-server and sing-box give), replies carrying their
// source. Nothing else is served: other commands and CONNECT targets are refused.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/stream_codec.hpp"

namespace udptun::protocol::socks5 {

constexpr uint8_t kCommandFwdUdp = 0x05;
constexpr const char* kUotV1Name = "sp.udp-over-tcp.arpa";
constexpr const char* kUotV2Name = "sp.v2.udp-over-tcp.arpa";

struct UdpStreamCounters {
  uint64_t datagrams_in = 0;
  uint64_t oversize = 0;            // over kMaxDatagram: dropped
  uint64_t other_name_dropped = 0;  // to a name other than the flow's first destination
  uint64_t orphans = 0;             // replies of a flow no longer open
};

class UdpOverSocks5Translator : public FrameTranslator {
 public:
  enum class Mode : uint8_t { handshake, fwd_udp, uot_v1, uot_v2_request, uot_v2 };

  // With a user name, RFC 1929 credentials are required (and only they are accepted).
  UdpOverSocks5Translator(std::string user, std::string password);

  Mode mode() const { return mode_; }
  const UdpStreamCounters& counters() const { return counters_; }

 private:
  enum class Step : uint8_t { greeting, credentials, request, done };
  // One message from the front of `in`: its size, 0 for "need more", or give_up() (returns 0).
  size_t take_one(ByteView in, std::vector<uint8_t>& frames, std::vector<uint8_t>& answer) override;
  size_t take_greeting(ByteView in, std::vector<uint8_t>& answer);
  size_t take_credentials(ByteView in, std::vector<uint8_t>& answer);
  size_t take_request(ByteView in, std::vector<uint8_t>& answer);
  size_t take_uot_request(ByteView in);
  size_t take_datagram(ByteView in, std::vector<uint8_t>& frames);
  void datagram(const Address& to, ByteView payload, std::vector<uint8_t>& frames);
  size_t give_up(const char* why);
  void translate(const Frame& frame, std::vector<uint8_t>& wire) override;

  std::string user_, password_;
  Step step_ = Step::greeting;
  Mode mode_ = Mode::handshake;
  bool flow_open_ = false;
  uint32_t flow_id_ = 0;
  Address target_;  // the flow's first destination (v2 connected: the only one)
  UdpStreamCounters counters_;
};

// The client's side, for udp-local --server-protocol socks5-fwd-udp | uot: one connection per
// flow (what these protocols are: a stream is one UDP socket). The greeting (no
// authentication, or RFC 1929 with a user name), the request (FWD UDP; or CONNECT to
// sp.v2.udp-over-tcp.arpa and a not-connected request), then the flow's datagrams both ways.
// Datagrams written before the server accepted wait (up to kMaxHeldBytes, then dropped).
class UdpOverSocks5ClientTranslator : public FrameTranslator {
 public:
  enum class Kind : uint8_t { fwd_udp, uot };
  static constexpr size_t kMaxHeldBytes = 256 * 1024;

  UdpOverSocks5ClientTranslator(Kind kind, std::string user, std::string password);

  void start(std::vector<uint8_t>& wire) override;

  bool established() const { return step_ == Step::datagrams; }
  uint64_t dropped() const { return dropped_; }

 private:
  enum class Step : uint8_t { method, credentials, reply, datagrams };
  void translate(const Frame& frame, std::vector<uint8_t>& wire) override;
  size_t take_one(ByteView in, std::vector<uint8_t>& frames, std::vector<uint8_t>& answer) override;
  size_t give_up(const char* why);
  void write_request(std::vector<uint8_t>& out);

  Kind kind_;
  std::string user_, password_;
  Step step_ = Step::method;
  std::vector<uint8_t> held_;  // datagrams (encoded) waiting for the server to accept
  bool has_flow_ = false;
  uint32_t flow_id_ = 0;
  Address target_;
  uint64_t dropped_ = 0;
};

// A datagram's header, either framing, as both sides read it: its size is the parse's
// `consumed`, the payload's `length` follows.
struct DatagramHeader {
  size_t length = 0;
  Address address;  // none when UoT is connected
};
Parsed<DatagramHeader> decode_fwd_udp_header(ByteView in);
Parsed<DatagramHeader> decode_uot_header(ByteView in, bool with_address);

// One datagram in FWD UDP framing (DATLEN HDRLEN ADDRESS DATA) or UoT's (ADDRESS LENGTH DATA;
// no address when connected), appended to `out`: both sides write them alike.
void append_fwd_udp_datagram(std::vector<uint8_t>& out, const Address& address, ByteView payload);
void append_uot_datagram(std::vector<uint8_t>& out, const Address* address, ByteView payload);

// The UoT packet address: SOCKS5's with family bytes 0 (IPv4), 1 (IPv6), 2 (name).
Parsed<Address> decode_uot_address(ByteView in);
size_t encode_uot_address(const Address& a, uint8_t* out);  // out holds kMaxEncodedAddress

}  // namespace udptun::protocol::socks5
