// Whole IPv4/IPv6 packets carrying one UDP datagram, built and read without any stack: what
// udp-server's tun2socks egress hands to an in-process tun2socks and takes back from it.
// Building fills every checksum; reading checks lengths (never checksums: the packets come
// from our own stack) and refuses fragments, options it cannot skip and anything not UDP.
// (The egress gives its stack a 65,535-byte MTU, so the stack never fragments what it hands
// back: every IPv4 datagram, and IPv6 ones up to 65,487 bytes, arrive whole.)
#pragma once

#include <cstddef>
#include <cstdint>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/bytes.hpp"
#include "udptun/protocol/parse_result.hpp"

namespace udptun::protocol {

constexpr size_t kIpv4UdpHeader = 20 + 8;
constexpr size_t kIpv6UdpHeader = 40 + 8;

// Writes the packet (src and dst: IP addresses of one family, with ports) into out. Returns
// its length, or 0 when it does not fit in cap, the families differ, or it would exceed 65535.
size_t build_udp_packet(const Address& src, const Address& dst, ByteView payload, uint8_t* out,
                        size_t cap);

struct UdpPacket {
  Address src, dst;
  ByteView payload;  // inside the packet
};
// A whole packet (never need_more): ok with consumed == the IP total length, or an error.
Parsed<UdpPacket> parse_udp_packet(ByteView packet);

}  // namespace udptun::protocol
