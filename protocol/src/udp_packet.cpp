#include "udptun/protocol/udp_packet.hpp"

#include <cstring>

namespace udptun::protocol {

namespace {

uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

}  // namespace

size_t build_udp_packet(const Address& src, const Address& dst, ByteView payload, uint8_t* out,
                        size_t cap) {
  if (!src.is_ip() || src.type != dst.type) return 0;
  const bool v4 = src.type == AddressType::ipv4;
  const size_t ip_header = v4 ? 20 : 40;
  const size_t alen = v4 ? 4 : 16;
  const size_t udp_len = 8 + payload.size;
  const size_t total = ip_header + udp_len;
  if (total > cap || udp_len > 65535 || (v4 && total > 65535)) return 0;
  std::memset(out, 0, ip_header + 8);
  // The pseudo-header sum: addresses, protocol, UDP length.
  uint32_t pseudo = sum16(src.ip.data(), alen, 0);
  pseudo = sum16(dst.ip.data(), alen, pseudo);
  pseudo += 17 + static_cast<uint32_t>(udp_len);
  if (v4) {
    out[0] = 0x45;
    put16(out + 2, static_cast<uint16_t>(total));
    out[8] = 64;  // TTL
    out[9] = 17;
    std::memcpy(out + 12, src.ip.data(), 4);
    std::memcpy(out + 16, dst.ip.data(), 4);
    put16(out + 10, fold(sum16(out, 20, 0)));
  } else {
    out[0] = 0x60;
    put16(out + 4, static_cast<uint16_t>(udp_len));
    out[6] = 17;
    out[7] = 64;  // hop limit
    std::memcpy(out + 8, src.ip.data(), 16);
    std::memcpy(out + 24, dst.ip.data(), 16);
  }
  uint8_t* udp = out + ip_header;
  put16(udp, src.port);
  put16(udp + 2, dst.port);
  put16(udp + 4, static_cast<uint16_t>(udp_len));
  if (payload.size) std::memcpy(udp + 8, payload.data, payload.size);
  uint16_t c = fold(sum16(udp, udp_len, pseudo));
  put16(udp + 6, c == 0 ? 0xFFFF : c);  // 0 means "no checksum" in UDP
  return total;
}

Parsed<UdpPacket> parse_udp_packet(ByteView p) {
  using R = Parsed<UdpPacket>;
  if (p.size < 1) return R::reject("empty packet");
  UdpPacket out;
  size_t ip_header, total;
  const uint8_t version = p.data[0] >> 4;
  if (version == 4) {
    if (p.size < 20) return R::reject("IPv4 header truncated");
    ip_header = static_cast<size_t>(p.data[0] & 0x0F) * 4;
    total = get16(p.data + 2);
    if (ip_header < 20 || total < ip_header || total > p.size)
      return R::reject("IPv4 lengths do not fit the packet");
    if ((get16(p.data + 6) & 0x3FFF) != 0) return R::reject("IPv4 fragment");
    if (p.data[9] != 17) return R::reject("not UDP");
    uint8_t a[4];
    std::memcpy(a, p.data + 12, 4);
    out.src = Address::ipv4(a, 0);
    std::memcpy(a, p.data + 16, 4);
    out.dst = Address::ipv4(a, 0);
  } else if (version == 6) {
    if (p.size < 40) return R::reject("IPv6 header truncated");
    ip_header = 40;
    total = 40 + get16(p.data + 4);
    if (total > p.size) return R::reject("IPv6 payload length exceeds the packet");
    if (p.data[6] != 17) return R::reject("not UDP (or IPv6 extension headers)");
    uint8_t a[16];
    std::memcpy(a, p.data + 8, 16);
    out.src = Address::ipv6(a, 0);
    std::memcpy(a, p.data + 24, 16);
    out.dst = Address::ipv6(a, 0);
  } else {
    return R::reject("not IPv4 or IPv6");
  }
  if (total - ip_header < 8) return R::reject("UDP header truncated");
  const uint8_t* udp = p.data + ip_header;
  size_t udp_len = get16(udp + 4);
  if (udp_len < 8 || udp_len > total - ip_header) return R::reject("UDP length does not fit");
  out.src.port = get16(udp);
  out.dst.port = get16(udp + 2);
  out.payload = ByteView(udp + 8, udp_len - 8);
  return R::done(out, total);
}

}  // namespace udptun::protocol
