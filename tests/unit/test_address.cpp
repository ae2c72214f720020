#include "udptun/protocol/socket_api.hpp"

#include <string>

#include "cmocka_support.hpp"
#include "udptun/protocol/address.hpp"

using namespace udptun::protocol;
using test::bytes;

static std::vector<uint8_t> wire(const Address& a) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  append_address(w, a);
  return out;
}

static void test_text_ipv4(void**) {
  auto t = parse_address_text("10.1.2.3:5353");
  assert_true(t.address.has_value());
  assert_int_equal(t.address->type, AddressType::ipv4);
  assert_int_equal(t.address->port, 5353);
  assert_memory_equal(t.address->ip.data(), "\x0a\x01\x02\x03", 4);
  assert_string_equal(format_address(*t.address).c_str(), "10.1.2.3:5353");
}

static void test_text_ipv6_needs_brackets(void**) {
  auto t = parse_address_text("[::1]:53");
  assert_true(t.address.has_value());
  assert_int_equal(t.address->type, AddressType::ipv6);
  assert_int_equal(t.address->ip[15], 1);
  assert_string_equal(format_address(*t.address).c_str(), "[::1]:53");
  auto bare = parse_address_text("::1:53");
  assert_false(bare.address.has_value());
  assert_non_null(strstr(bare.error, "brackets"));
}

static void test_text_domain(void**) {
  auto t = parse_address_text("example.com:443");
  assert_true(t.address.has_value());
  assert_int_equal(t.address->type, AddressType::domain);
  assert_true(t.address->domain_name() == "example.com");
  assert_string_equal(format_address(*t.address).c_str(), "example.com:443");
}

static void test_text_errors_say_why(void**) {
  struct {
    const char* text;
    const char* why;
  } cases[] = {
      {"", "missing ':PORT'"},         {"1.2.3.4", "missing ':PORT'"},
      {"1.2.3.4:", "invalid port"},    {"1.2.3.4:65536", "invalid port"},
      {"1.2.3.4:12a", "invalid port"}, {":80", "missing host"},
      {"[::1]", "missing ':PORT'"},    {"[::1:80", "missing ']'"},
      {"[nothex]:80", "invalid IPv6"}, {"bad host:80", "invalid host"},
      {"a..b:80", "invalid host"},
  };
  for (auto& c : cases) {
    auto t = parse_address_text(c.text);
    if (t.address.has_value()) print_error("'%s' parsed\n", c.text);
    assert_false(t.address.has_value());
    if (!strstr(t.error, c.why)) print_error("'%s': '%s' lacks '%s'\n", c.text, t.error, c.why);
    assert_non_null(strstr(t.error, c.why));
  }
}

static void test_domain_validation(void**) {
  assert_true(is_valid_domain_name("a"));
  assert_true(is_valid_domain_name("xn--bcher-kva.example."));
  assert_true(is_valid_domain_name("_sip._udp.example.com"));
  assert_false(is_valid_domain_name(""));
  assert_false(is_valid_domain_name("."));
  assert_false(is_valid_domain_name(".example"));
  assert_false(is_valid_domain_name(std::string_view("a\0b", 3)));
  assert_false(is_valid_domain_name("a\nb"));
  assert_false(is_valid_domain_name(std::string(64, 'a')));  // label over 63
  std::string longest;
  while (longest.size() + 4 <= 255) longest += "abc.";
  longest += "ab";
  assert_true(longest.size() <= 255);
  assert_true(is_valid_domain_name(longest));
  assert_false(is_valid_domain_name(longest + ".abcd"));
}

static void test_wire_round_trip_every_type(void**) {
  uint8_t v4[4] = {192, 0, 2, 1};
  uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
  Address cases[] = {Address::ipv4(v4, 53), Address::ipv6(v6, 65535),
                     *Address::from_domain("example.com", 443)};
  for (const Address& a : cases) {
    auto w = wire(a);
    assert_int_equal(w.size(), encoded_size(a));
    Address back = test::assert_parses_only_when_whole(decode_address, w);
    assert_true(back == a);
  }
  assert_true(wire(cases[0]) == bytes({0x01, 192, 0, 2, 1, 0, 53}));
  assert_true(wire(cases[2]) ==
              bytes({0x03, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0x01, 0xBB}));
}

static void test_wire_bad_atyp_and_names(void**) {
  test::assert_rejected(decode_address, bytes({0x02, 1, 2, 3, 4, 0, 1}), "address type", 0x08);
  test::assert_rejected(decode_address, bytes({0x00}), "address type", 0x08);
  test::assert_rejected(decode_address, bytes({0x03, 0}), "empty domain", 0x08);
  test::assert_rejected(decode_address, bytes({0x03, 3, 'a', 0, 'b', 0, 1}), "invalid domain",
                        0x08);
}

static void test_sockaddr_round_trip(void**) {
  for (const char* text : {"127.0.0.1:9", "[::ffff:1.2.3.4]:80", "[fe80::1]:1"}) {
    auto a = parse_address_text(text).address;
    assert_true(a.has_value());
    sockaddr_storage ss;
    unsigned len = address_to_sockaddr(*a, &ss);
    assert_true(len > 0);
    auto back = address_from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
    assert_true(back.has_value());
    assert_true(*back == *a);
  }
  sockaddr_storage ss;
  assert_int_equal(address_to_sockaddr(*Address::from_domain("x.y", 1), &ss), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_ipv4),
      cmocka_unit_test(test_text_ipv6_needs_brackets),
      cmocka_unit_test(test_text_domain),
      cmocka_unit_test(test_text_errors_say_why),
      cmocka_unit_test(test_domain_validation),
      cmocka_unit_test(test_wire_round_trip_every_type),
      cmocka_unit_test(test_wire_bad_atyp_and_names),
      cmocka_unit_test(test_sockaddr_round_trip),
  };
  return cmocka_run_group_tests_name("address", tests, nullptr, nullptr);
}
