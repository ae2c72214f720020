// IPv4/IPv6 UDP packets built and read by protocol/udp_packet: byte-identical to the tests'
// independent packet builder, checksums that verify, and every malformed packet refused.
#include "udptun/protocol/socket_api.hpp"

#include <cstring>
#include <string>

#include "cmocka_support.hpp"
#include "packet_builder.hpp"
#include "udptun/protocol/ip_fragment_guard.hpp"
#include "udptun/protocol/udp_packet.hpp"

using namespace udptun::protocol;

static Address addr(const char* text) {
  return *parse_address_text(text).address;
}

static void test_ipv4_matches_an_independent_builder(void**) {
  std::string payload = "hello through the egress";
  uint8_t out[256];
  size_t n = build_udp_packet(
      addr("100.64.0.1:10000"), addr("192.0.2.7:53"),
      ByteView(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()), out, sizeof out);
  auto expected = packet_builder::ipv4_packet(17, "100.64.0.1", 10000, "192.0.2.7", 53, payload);
  assert_int_equal(n, expected.size());
  assert_memory_equal(out, expected.data(), n);
  auto p = parse_udp_packet(ByteView(out, n));
  assert_true(p.ok());
  assert_int_equal(p.consumed, n);
  assert_string_equal(format_address(p.value.src).c_str(), "100.64.0.1:10000");
  assert_string_equal(format_address(p.value.dst).c_str(), "192.0.2.7:53");
  assert_int_equal(p.value.payload.size, payload.size());
  assert_memory_equal(p.value.payload.data, payload.data(), payload.size());
}

static void test_ipv6_matches_an_independent_builder(void**) {
  std::string payload(1200, 'x');
  uint8_t out[2048];
  size_t n = build_udp_packet(
      addr("[fd00:7564::1]:10001"), addr("[2001:db8::9]:5001"),
      ByteView(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()), out, sizeof out);
  auto expected =
      packet_builder::ipv6_udp_packet("fd00:7564::1", 10001, "2001:db8::9", 5001, payload);
  assert_int_equal(n, expected.size());
  assert_memory_equal(out, expected.data(), n);
  auto p = parse_udp_packet(ByteView(out, n));
  assert_true(p.ok());
  assert_string_equal(format_address(p.value.dst).c_str(), "[2001:db8::9]:5001");
}

static void test_what_cannot_be_built(void**) {
  uint8_t out[64];
  uint8_t big[100] = {};
  // Too small a buffer, mixed families, a name.
  assert_int_equal(
      build_udp_packet(addr("10.0.0.1:1"), addr("10.0.0.2:2"), ByteView(big, 100), out, sizeof out),
      0);
  assert_int_equal(
      build_udp_packet(addr("10.0.0.1:1"), addr("[::1]:2"), ByteView(), out, sizeof out), 0);
  assert_int_equal(
      build_udp_packet(addr("example.com:1"), addr("10.0.0.2:2"), ByteView(), out, sizeof out), 0);
  // An empty payload is a valid datagram.
  assert_int_equal(
      build_udp_packet(addr("10.0.0.1:1"), addr("10.0.0.2:2"), ByteView(), out, sizeof out), 28);
}

static void test_malformed_packets_are_refused(void**) {
  auto good = packet_builder::ipv4_packet(17, "10.0.0.1", 1, "10.0.0.2", 2, "payload");
  auto refused = [](std::vector<uint8_t> p) { return parse_udp_packet(ByteView(p)).failed(); };
  assert_true(refused({}));
  for (size_t cut = 0; cut < good.size(); ++cut)  // every truncation
    assert_true(refused(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<long>(cut))));
  auto tcp = packet_builder::ipv4_packet(6, "10.0.0.1", 1, "10.0.0.2", 2, "");
  assert_true(refused(tcp));
  auto fragment = good;
  fragment[6] = 0x20;  // more fragments
  assert_true(refused(fragment));
  auto short_udp = good;
  short_udp[20 + 5] = 4;  // UDP length below its header
  assert_true(refused(short_udp));
  auto long_udp = good;
  long_udp[20 + 4] = 0x10;  // UDP length past the packet
  assert_true(refused(long_udp));
  auto bad_ihl = good;
  bad_ihl[0] = 0x44;
  assert_true(refused(bad_ihl));
  auto version = good;
  version[0] = 0x55;
  assert_true(refused(version));
  // Trailing bytes after the IP total length (link padding) are not part of it.
  auto padded = good;
  padded.resize(good.size() + 6);
  auto p = parse_udp_packet(ByteView(padded));
  assert_true(p.ok());
  assert_int_equal(p.consumed, good.size());
}

// IPv6 fragments whose whole would pass 65,535 bytes (lwIP cannot count them) are refused
// before the stack; every other packet passes.
static std::vector<uint8_t> ipv6_fragment(size_t offset_bytes, size_t data, bool hop_by_hop) {
  std::vector<uint8_t> p(40 + (hop_by_hop ? 8 : 0) + 8 + data, 0);
  p[0] = 0x60;
  size_t plen = p.size() - 40;
  p[4] = static_cast<uint8_t>(plen >> 8);
  p[5] = static_cast<uint8_t>(plen);
  p[6] = hop_by_hop ? 0 : 44;
  size_t at = 40;
  if (hop_by_hop) {
    p[at] = 44;  // next: fragment; length 0 (8 bytes)
    at += 8;
  }
  p[at] = 17;
  p[at + 2] = static_cast<uint8_t>(offset_bytes >> 8);
  p[at + 3] = static_cast<uint8_t>(offset_bytes & 0xF8);
  return p;
}

static void test_ipv6_fragments_past_the_stack_limit(void**) {
  auto ok = ipv6_fragment(0, 1'448, false);
  assert_null(ipv6_fragment_refusal(ByteView(ok)));
  auto last_fits = ipv6_fragment(64'000, 65'535 - 40 - 8 - 64'000 - 8, false);
  assert_null(ipv6_fragment_refusal(ByteView(last_fits)));
  auto too_far = ipv6_fragment(64'000, 1'496, false);
  assert_non_null(ipv6_fragment_refusal(ByteView(too_far)));
  // Extension headers before the fragment header count too.
  auto behind_hop = ipv6_fragment(64'000, 1'490, true);  // would fit without the hop header
  assert_non_null(ipv6_fragment_refusal(ByteView(behind_hop)));
  // Not fragments, or not IPv6: not ours to judge.
  std::vector<uint8_t> v4(60, 0);
  v4[0] = 0x45;
  assert_null(ipv6_fragment_refusal(ByteView(v4)));
  auto truncated = ipv6_fragment(0, 0, false);
  truncated.resize(44);
  assert_non_null(ipv6_fragment_refusal(ByteView(truncated)));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ipv4_matches_an_independent_builder),
      cmocka_unit_test(test_ipv6_matches_an_independent_builder),
      cmocka_unit_test(test_what_cannot_be_built),
      cmocka_unit_test(test_malformed_packets_are_refused),
      cmocka_unit_test(test_ipv6_fragments_past_the_stack_limit),
  };
  return cmocka_run_group_tests_name("udp_packet", tests, nullptr, nullptr);
}
