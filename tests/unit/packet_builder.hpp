// Hand-built IP packets for tests that feed a stack directly (no TUN, no root).
#pragma once

#include "udptun/protocol/socket_api.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace packet_builder {

inline uint16_t checksum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// An IPv4 packet with a UDP or TCP-SYN payload, checksums filled.
inline std::vector<uint8_t> ipv4_packet(uint8_t proto, const char* src, uint16_t sport,
                                        const char* dst, uint16_t dport, const std::string& payload,
                                        uint8_t tcp_flags = 0x02, uint32_t seq = 0x12000000,
                                        uint32_t ack = 0) {
  size_t l4 = proto == 17 ? 8 : 20;
  std::vector<uint8_t> p(20 + l4 + payload.size(), 0);
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>(p.size() >> 8);
  p[3] = static_cast<uint8_t>(p.size());
  p[8] = 64;
  p[9] = proto;
  inet_pton(AF_INET, src, &p[12]);
  inet_pton(AF_INET, dst, &p[16]);
  uint16_t c = checksum(p.data(), 20);
  p[10] = static_cast<uint8_t>(c >> 8);
  p[11] = static_cast<uint8_t>(c);
  uint8_t* t = &p[20];
  t[0] = static_cast<uint8_t>(sport >> 8);
  t[1] = static_cast<uint8_t>(sport);
  t[2] = static_cast<uint8_t>(dport >> 8);
  t[3] = static_cast<uint8_t>(dport);
  if (proto == 17) {
    t[4] = static_cast<uint8_t>((8 + payload.size()) >> 8);
    t[5] = static_cast<uint8_t>(8 + payload.size());
    std::memcpy(t + 8, payload.data(), payload.size());
  } else {
    for (int i = 0; i < 4; ++i) {
      t[4 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
      t[8 + i] = static_cast<uint8_t>(ack >> (24 - 8 * i));
    }
    t[12] = 5 << 4;
    t[13] = tcp_flags;
    t[14] = 0xFF;
    t[15] = 0xFF;
  }
  // Pseudo-header sum for the transport checksum.
  uint32_t sum = 0;
  for (int i = 12; i < 20; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  sum += proto + static_cast<uint32_t>(l4 + payload.size());
  uint16_t tc = checksum(t, l4 + payload.size(), sum);
  size_t at = proto == 17 ? 6 : 16;
  t[at] = static_cast<uint8_t>(tc >> 8);
  t[at + 1] = static_cast<uint8_t>(tc);
  return p;
}

// An IPv6 UDP packet (checksum filled).
inline std::vector<uint8_t> ipv6_udp_packet(const char* src, uint16_t sport, const char* dst,
                                            uint16_t dport, const std::string& payload) {
  size_t udp_len = 8 + payload.size();
  std::vector<uint8_t> p(40 + udp_len, 0);
  p[0] = 0x60;
  p[4] = static_cast<uint8_t>(udp_len >> 8);
  p[5] = static_cast<uint8_t>(udp_len);
  p[6] = 17;
  p[7] = 64;
  inet_pton(AF_INET6, src, &p[8]);
  inet_pton(AF_INET6, dst, &p[24]);
  uint8_t* u = &p[40];
  u[0] = static_cast<uint8_t>(sport >> 8);
  u[1] = static_cast<uint8_t>(sport);
  u[2] = static_cast<uint8_t>(dport >> 8);
  u[3] = static_cast<uint8_t>(dport);
  u[4] = static_cast<uint8_t>(udp_len >> 8);
  u[5] = static_cast<uint8_t>(udp_len);
  std::memcpy(u + 8, payload.data(), payload.size());
  uint32_t sum = 0;
  for (int i = 8; i < 40; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  sum += 17 + static_cast<uint32_t>(udp_len);
  uint16_t c = checksum(u, udp_len, sum);
  u[6] = static_cast<uint8_t>(c >> 8);
  u[7] = static_cast<uint8_t>(c);
  return p;
}

}  // namespace packet_builder
