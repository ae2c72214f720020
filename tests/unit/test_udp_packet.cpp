// IPv4/IPv6 UDP packets built and read by protocol/udp_packet: byte-identical to the tests'
// independent packet builder, checksums that verify, and every malformed packet refused.
#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "cmocka_support.hpp"
#include "packet_builder.hpp"
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ipv4_matches_an_independent_builder),
      cmocka_unit_test(test_ipv6_matches_an_independent_builder),
      cmocka_unit_test(test_what_cannot_be_built),
      cmocka_unit_test(test_malformed_packets_are_refused),
  };
  return cmocka_run_group_tests_name("udp_packet", tests, nullptr, nullptr);
}
