// udp-server's target policy: what a client may reach through the server. Special-purpose
// ranges are refused, including IPv6 addresses that carry a refused IPv4 address inside
// (NAT64, 6to4) and the server's own addresses; allow rules open any of them.
#include "udptun/protocol/socket_api.hpp"

#include <cstring>
#include <string>

#include "amplification_guard.hpp"
#include "cmocka_support.hpp"
#include "target_policy.hpp"

using udptun::udpserver::Cidr;
using udptun::udpserver::TargetPolicy;

static const char* judge(const TargetPolicy& p, const std::string& ip, uint16_t port = 53) {
  sockaddr_storage ss{};
  if (ip.find(':') == std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
  }
  return p.refuse_reason(reinterpret_cast<sockaddr*>(&ss));
}

static sockaddr_storage sockaddr_of(const std::string& ip) {
  sockaddr_storage ss{};
  if (ip.find(':') == std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
  }
  return ss;
}

// --allow-client: empty permits all; otherwise only the ranges, IPv4-mapped IPv6 peers (a
// dual-stack listener) judged as IPv4; a bad entry is refused with its text.
static void test_client_allow_list(void**) {
  udptun::protocol::AllowList none;
  assert_true(none.parse({}).ok());
  auto any = sockaddr_of("198.51.100.7");
  assert_true(none.permits(reinterpret_cast<sockaddr*>(&any)));
  udptun::protocol::AllowList list;
  assert_true(list.parse({"10.1.0.0/16", "2001:db8::/32"}).ok());
  auto in4 = sockaddr_of("10.1.2.3"), out4 = sockaddr_of("10.2.0.1");
  auto mapped = sockaddr_of("::ffff:10.1.9.9"), in6 = sockaddr_of("2001:db8::5"),
       out6 = sockaddr_of("2001:db9::5");
  assert_true(list.permits(reinterpret_cast<sockaddr*>(&in4)));
  assert_false(list.permits(reinterpret_cast<sockaddr*>(&out4)));
  assert_true(list.permits(reinterpret_cast<sockaddr*>(&mapped)));
  assert_true(list.permits(reinterpret_cast<sockaddr*>(&in6)));
  assert_false(list.permits(reinterpret_cast<sockaddr*>(&out6)));
  udptun::Status bad = list.parse({"10.0.0.0/8", "10.0.0.0/33"});
  assert_false(bad.ok());
  assert_true(bad.message().find("10.0.0.0/33") != std::string::npos);
  assert_true(list.permits(reinterpret_cast<sockaddr*>(&in4)));  // a failed parse changed nothing
}

// The amplification guard: allowance + ratio x sent until the client sends after a reply;
// then free while it keeps sending within the window; ratio 0 is no guard.
static void test_amplification_guard(void**) {
  using udptun::udpserver::AmplificationGuard;
  AmplificationGuard g({3, 1'000, 30'000});
  g.on_request(100, 0);  // credit 1,300
  assert_true(g.admit_reply(1'200, 1));
  assert_false(g.admit_reply(200, 2));
  assert_true(g.admit_reply(100, 3));
  g.on_request(10, 4);  // after replies: confirmed for 30 s
  for (int i = 0; i < 100; ++i) assert_true(g.admit_reply(1'400, 5 + static_cast<uint64_t>(i)));
  assert_true(g.admit_reply(1'400, 30'003));
  assert_false(g.admit_reply(1'400, 30'004));  // silent past the window: back to the credit
  AmplificationGuard off({0, 0, 1'000});
  assert_true(off.admit_reply(65'000, 0));
}

static void expect_refused(const TargetPolicy& p, const char* ip, const char* says) {
  const char* why = judge(p, ip);
  if (!why || !std::strstr(why, says))
    print_error("%s: expected refusal '%s', got '%s'\n", ip, says, why ? why : "(allowed)");
  assert_non_null(why);
  assert_non_null(std::strstr(why, says));
}

static void expect_allowed(const TargetPolicy& p, const char* ip) {
  const char* why = judge(p, ip);
  if (why) print_error("%s: expected allowed, got '%s'\n", ip, why);
  assert_null(why);
}

static void test_public_addresses_pass(void**) {
  TargetPolicy p;
  expect_allowed(p, "8.8.8.8");
  expect_allowed(p, "2001:4860:4860::8888");
  expect_allowed(p, "64:ff9b::808:808");       // NAT64 of 8.8.8.8
  expect_allowed(p, "2002:808:808::1");        // 6to4 of 8.8.8.8
  expect_allowed(p, "64:ff9b:1:808:8:800::");  // local-use NAT64 (/48 layout) of 8.8.8.8
  assert_non_null(judge(p, "8.8.8.8", 0));     // port 0 never
}

static void test_special_ranges_are_refused(void**) {
  TargetPolicy p;
  expect_refused(p, "127.0.0.1", "loopback");
  expect_refused(p, "10.1.2.3", "private");
  expect_refused(p, "192.168.1.1", "private");
  expect_refused(p, "169.254.169.254", "link-local");  // cloud metadata
  expect_refused(p, "100.64.0.1", "CGNAT");
  expect_refused(p, "224.0.0.251", "multicast");
  expect_refused(p, "::1", "loopback");
  expect_refused(p, "::ffff:127.0.0.1", "loopback");  // IPv4-mapped: judged as IPv4
  expect_refused(p, "::7f00:1", "IPv4-compatible");
  expect_refused(p, "::808:808", "IPv4-compatible");
  expect_refused(p, "fd00::1", "unique-local");
  expect_refused(p, "fec0::1", "site-local");
  expect_refused(p, "fe80::1", "link-local");
  expect_refused(p, "ff02::1", "multicast");
}

// What an IPv6 address carries inside is what it reaches.
static void test_embedded_ipv4_is_judged(void**) {
  TargetPolicy p;
  expect_refused(p, "64:ff9b::7f00:1", "NAT64");                   // 127.0.0.1
  expect_refused(p, "64:ff9b::a00:1", "NAT64");                    // 10.0.0.1
  expect_refused(p, "64:ff9b::a9fe:a9fe", "NAT64");                // 169.254.169.254
  expect_refused(p, "64:ff9b:1:7f00:0:100::", "local-use NAT64");  // 127.0.0.1, /48 layout
  expect_refused(p, "2002:7f00:1::1", "6to4");                     // 127.0.0.1
  expect_refused(p, "2002:c0a8:101::1", "6to4");                   // 192.168.1.1
}

static void test_own_addresses_are_refused(void**) {
  TargetPolicy p;
  Cidr own;
  assert_true(Cidr::parse("203.0.113.7", own));
  p.set_own_addresses({own});
  expect_refused(p, "203.0.113.7", "own");
  expect_allowed(p, "203.0.113.8");
  expect_refused(p, "64:ff9b::cb00:7107", "NAT64");  // its own address through NAT64
  // The interface list is read for real: loopback is always there.
  auto mine = TargetPolicy::interface_addresses();
  bool has_loopback = false;
  for (const Cidr& c : mine) has_loopback |= c.family == AF_INET && c.bytes[0] == 127;
  assert_true(has_loopback);
}

static void test_allow_rules_open_any_of_them(void**) {
  TargetPolicy p;
  Cidr c;
  assert_true(Cidr::parse("127.0.0.0/8", c));
  p.allow(c);
  assert_true(Cidr::parse("fd00::/8", c));
  p.allow(c);
  Cidr own;
  assert_true(Cidr::parse("127.0.0.1", own));
  p.set_own_addresses({own});
  expect_allowed(p, "127.0.0.1");        // allowed beats own
  expect_allowed(p, "64:ff9b::7f00:1");  // the embedded address is allowed
  expect_allowed(p, "fd00::1");
  expect_refused(p, "10.0.0.1", "private");
  assert_false(Cidr::parse("10.0.0.0/33", c));
  assert_false(Cidr::parse("not-an-address", c));
  assert_false(Cidr::parse("10.0.0.0/", c));
}

// Per-source limits key an IPv6 peer by its /64 (one host holds them all), an IPv4-mapped
// one by its IPv4 address.
static void test_source_keys(void**) {
  auto v6 = [](const char* text) {
    in6_addr a{};
    assert_int_equal(inet_pton(AF_INET6, text, &a), 1);
    return udptun::protocol::source_key(reinterpret_cast<const uint8_t*>(&a), true, 64);
  };
  auto v4 = [](const char* text) {
    in_addr a{};
    assert_int_equal(inet_pton(AF_INET, text, &a), 1);
    return udptun::protocol::source_key(reinterpret_cast<const uint8_t*>(&a), false, 64);
  };
  assert_true(v6("2001:db8:1:2::1") == v6("2001:db8:1:2:ffff:ffff:ffff:fffe"));
  assert_true(v6("2001:db8:1:2::1") != v6("2001:db8:1:3::1"));
  assert_true(v6("::ffff:192.0.2.7") == v4("192.0.2.7"));
  assert_true(v6("::ffff:192.0.2.7") != v6("::ffff:192.0.2.8"));
  assert_true(v4("192.0.2.7") != v4("192.0.2.8"));
  // A /128 key when asked: every address apart.
  in6_addr a{}, b{};
  inet_pton(AF_INET6, "2001:db8::1", &a);
  inet_pton(AF_INET6, "2001:db8::2", &b);
  using udptun::protocol::source_key;
  assert_true(source_key(reinterpret_cast<const uint8_t*>(&a), true, 128) !=
              source_key(reinterpret_cast<const uint8_t*>(&b), true, 128));
  assert_true(source_key(reinterpret_cast<const uint8_t*>(&a), true, 48) ==
              source_key(reinterpret_cast<const uint8_t*>(&b), true, 48));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_public_addresses_pass),
      cmocka_unit_test(test_source_keys),
      cmocka_unit_test(test_special_ranges_are_refused),
      cmocka_unit_test(test_embedded_ipv4_is_judged),
      cmocka_unit_test(test_own_addresses_are_refused),
      cmocka_unit_test(test_allow_rules_open_any_of_them),
      cmocka_unit_test(test_client_allow_list),
      cmocka_unit_test(test_amplification_guard),
  };
  return cmocka_run_group_tests_name("target_policy", tests, nullptr, nullptr);
}
