#include <cstdio>
#include <cstring>

#include "cmocka_support.hpp"
#include "udptun/protocol/handshake.hpp"

using namespace udptun::protocol;

static const PreSharedKey& key() {
  static const std::vector<uint8_t> raw = test::bytes("correct horse battery staple 0123");
  static const PreSharedKey k{ByteView(raw)};
  return k;
}
static const PreSharedKey& other_key() {
  static const std::vector<uint8_t> raw = test::bytes("correct horse battery staple 0124");
  static const PreSharedKey k{ByteView(raw)};
  return k;
}

static ClientHello sample_client_hello(bool resume) {
  ClientHello h;
  h.resume = resume;
  for (int i = 0; i < 16; ++i) {
    h.session[i] = static_cast<uint8_t>(0xA0 + i);
    h.nonce[i] = static_cast<uint8_t>(i * 7);
  }
  h.timestamp_ms = 0x0000018C12345678ull;
  for (int i = 0; i < 16; ++i) h.challenge[i] = static_cast<uint8_t>(0xC0 + i);
  return h;
}

static std::vector<uint8_t> encode(ClientHello& h, const PreSharedKey& k = key()) {
  std::array<uint8_t, kClientHelloSize> out;
  encode_client_hello(k, h, out);
  return {out.begin(), out.end()};
}

static std::vector<uint8_t> encode(ServerHello& h, const Mac& cmac, const PreSharedKey& k = key()) {
  std::array<uint8_t, kServerHelloSize> out;
  encode_server_hello(k, cmac, h, out);
  return {out.begin(), out.end()};
}

static void test_client_hello_layout_and_round_trip(void**) {
  for (bool resume : {false, true}) {
    ClientHello h = sample_client_hello(resume);
    auto wire = encode(h);
    assert_int_equal(wire.size(), 78);
    assert_memory_equal(wire.data(), "UDPT\x02", 5);
    assert_int_equal(wire[5], resume ? 1 : 0);
    assert_int_equal(wire[6], 0xA0);
    assert_int_equal(wire[22 + 7], 0x78);  // timestamp, big-endian
    ClientHello back = test::assert_parses_only_when_whole(decode_client_hello, wire);
    assert_int_equal(back.resume, resume);
    assert_true(back.session == h.session);
    assert_true(back.nonce == h.nonce);
    assert_int_equal(back.timestamp_ms, h.timestamp_ms);
    assert_true(verify_client_hello(key(), h.challenge, back));
  }
}

// The server's challenge: layout, round trip, garbage refused.
static void test_server_challenge(void**) {
  ServerChallenge c;
  for (int i = 0; i < 16; ++i) c.challenge[i] = static_cast<uint8_t>(0xC0 + i);
  std::array<uint8_t, kServerChallengeSize> out;
  encode_server_challenge(c, out);
  std::vector<uint8_t> wire(out.begin(), out.end());
  assert_int_equal(wire.size(), 24);
  assert_memory_equal(wire.data(), "UDPT\x02\0\0\0\xC0", 9);
  ServerChallenge back = test::assert_parses_only_when_whole(decode_server_challenge, wire);
  assert_true(back.challenge == c.challenge);
  assert_int_equal(back.version, 2);
  test::assert_rejected(decode_server_challenge, test::bytes("HTTP/1.1 400"), "bad magic");
  test::assert_rejected(decode_server_challenge, test::bytes({'U', 'D', 'P', 'T', 2, 0, 1}),
                        "reserved");
  // Another version is reported, for the client to judge (and name in its log).
  wire[4] = 1;
  assert_int_equal(test::assert_parses_only_when_whole(decode_server_challenge, wire).version, 1);
}

// A hello recorded on one connection is worthless on another: its MAC covers that
// connection's challenge. This is what makes replays fail across restarts and servers.
static void test_client_hello_is_bound_to_the_challenge(void**) {
  ClientHello h = sample_client_hello(true);
  auto wire = encode(h);
  auto p = decode_client_hello(ByteView(wire));
  assert_true(p.ok());
  assert_true(verify_client_hello(key(), h.challenge, p.value));
  Challenge other = h.challenge;
  for (size_t i = 0; i < other.size(); ++i) {
    other[i] ^= 0x01;
    assert_false(verify_client_hello(key(), other, p.value));
    other[i] ^= 0x01;
  }
}

static void test_client_hello_wrong_key_fails_verification(void**) {
  ClientHello h = sample_client_hello(false);
  auto wire = encode(h, other_key());
  auto p = decode_client_hello(ByteView(wire));
  assert_true(p.ok());
  assert_false(verify_client_hello(key(), h.challenge, p.value));
}

static void test_client_hello_any_changed_byte_is_caught(void**) {
  ClientHello h = sample_client_hello(true);
  auto wire = encode(h);
  for (size_t i = 0; i < wire.size(); ++i) {
    auto bad = wire;
    bad[i] ^= 0x01;
    auto p = decode_client_hello(ByteView(bad));
    // A flipped magic/version/flag byte fails to parse; anything else fails the MAC.
    if (p.ok()) {
      if (verify_client_hello(key(), h.challenge, p.value))
        print_error("byte %lu flipped unnoticed\n", static_cast<unsigned long>(i));
      assert_false(verify_client_hello(key(), h.challenge, p.value));
    } else {
      assert_true(p.failed());
    }
  }
}

static void test_client_hello_bad_preface(void**) {
  test::assert_rejected(decode_client_hello, test::bytes("GET / HTTP/1.1\r\n"), "bad magic");
  test::assert_rejected(decode_client_hello, test::bytes({'U', 'X'}), "bad magic");
  // The version is judged as soon as its byte arrives, with the refusal to send back.
  test::assert_rejected(decode_client_hello, test::bytes({'U', 'D', 'P', 'T', 1}),
                        "unsupported protocol version",
                        static_cast<int>(RefuseReason::unsupported_version));
  test::assert_rejected(decode_client_hello, test::bytes({'U', 'D', 'P', 'T', 2, 0x04}),
                        "unknown hello flags", static_cast<int>(RefuseReason::malformed));
  // A lane index without JOIN, JOIN without a lane, JOIN with RESUME.
  for (uint8_t flags : {0x10, 0x02, 0x23})
    test::assert_rejected(decode_client_hello, test::bytes({'U', 'D', 'P', 'T', 2, flags}), "",
                          static_cast<int>(RefuseReason::malformed));
}

// JOIN: bit 1 and the lane in bits 4-7 of byte 5, covered by the MAC like every other bit.
static void test_client_hello_join_carries_its_lane(void**) {
  for (uint8_t lane : {1, 3, 15}) {
    ClientHello h = sample_client_hello(false);
    h.lane = lane;
    auto wire = encode(h);
    assert_int_equal(wire[5], 0x02 | (lane << 4));
    ClientHello back = test::assert_parses_only_when_whole(decode_client_hello, wire);
    assert_int_equal(back.lane, lane);
    assert_false(back.resume);
    assert_true(verify_client_hello(key(), h.challenge, back));
    back.lane = static_cast<uint8_t>(lane == 15 ? 1 : lane + 1);  // another lane: MAC fails
    assert_false(verify_client_hello(key(), h.challenge, back));
  }
}

static void test_server_hello_round_trip_every_status(void**) {
  ClientHello ch = sample_client_hello(true);
  encode(ch);
  struct {
    HelloStatus status;
    RefuseReason reason;
  } cases[] = {{HelloStatus::resumed, RefuseReason::none},
               {HelloStatus::new_session, RefuseReason::none},
               {HelloStatus::refused, RefuseReason::bad_mac},
               {HelloStatus::refused, RefuseReason::replayed},
               {HelloStatus::refused, RefuseReason::malformed}};
  for (auto& c : cases) {
    ServerHello sh;
    sh.status = c.status;
    sh.reason = c.reason;
    sh.session = ch.session;
    sh.nonce.fill(0x5A);
    auto wire = encode(sh, ch.mac);
    assert_int_equal(wire.size(), 72);
    ServerHello back = test::assert_parses_only_when_whole(decode_server_hello, wire);
    assert_int_equal(back.status, c.status);
    assert_int_equal(back.reason, c.reason);
    assert_true(back.session == ch.session);
    assert_true(verify_server_hello(key(), ch.mac, back));
    assert_non_null(refuse_reason_name(back.reason));
  }
}

static void test_server_hello_is_bound_to_its_client_hello(void**) {
  ClientHello a = sample_client_hello(false);
  encode(a);
  ClientHello b = sample_client_hello(false);
  b.nonce[0] ^= 0xFF;
  encode(b);
  ServerHello sh;
  sh.status = HelloStatus::new_session;
  sh.session = a.session;
  auto wire = encode(sh, a.mac);
  auto p = decode_server_hello(ByteView(wire));
  assert_true(p.ok());
  assert_true(verify_server_hello(key(), a.mac, p.value));
  assert_false(verify_server_hello(key(), b.mac, p.value));  // replayed to another hello
  assert_false(verify_server_hello(other_key(), a.mac, p.value));
}

static void test_server_hello_rejects_garbage(void**) {
  test::assert_rejected(decode_server_hello, test::bytes("HTTP/1.1 400"), "bad magic");
  test::assert_rejected(decode_server_hello, test::bytes({'U', 'D', 'P', 'T', 1, 3}), "status");
  test::assert_rejected(decode_server_hello, test::bytes({'U', 'D', 'P', 'T', 1, 2, 99}), "reason");
  test::assert_rejected(decode_server_hello, test::bytes({'U', 'D', 'P', 'T', 1, 2, 1, 1}),
                        "reserved");
}

static Mac mac_from_hex(const char* hex) {
  Mac m{};
  for (size_t i = 0; i < m.size(); ++i) {
    unsigned v = 0;
    sscanf(hex + 2 * i, "%2x", &v);
    m[i] = static_cast<uint8_t>(v);
  }
  return m;
}

// Known answers, computed independently (Python's hmac module) from the layouts in
// docs/PROTOCOL.md, so another implementation can check itself against the same vectors.
static void test_known_answer_macs(void**) {
  ClientHello ch = sample_client_hello(true);
  encode(ch);
  assert_true(ch.mac ==
              mac_from_hex("33b76f171a1a4026ff4ce6dae7962cce5e83d3bc1e23b7178925f23ffea450cf"));
  ServerHello sh;
  sh.status = HelloStatus::resumed;
  sh.session = ch.session;
  sh.nonce.fill(0x5A);
  encode(sh, ch.mac);
  assert_true(sh.mac ==
              mac_from_hex("c2577d7b9f1c3f3e7e2103fc86ae90a5384b9f084aa1d1b44ac3cbab8d0ffb90"));
}

static void test_mac_comparison(void**) {
  Mac a{}, b{};
  assert_true(macs_equal(a, b));
  b[31] = 1;
  assert_false(macs_equal(a, b));
}

static void test_session_id_hex(void**) {
  udptun::protocol::SessionId id{};
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(i * 17);
  assert_string_equal(udptun::protocol::session_id_hex(id).c_str(),
                      "00112233445566778899aabbccddeeff");
  assert_string_equal(udptun::protocol::session_id_hex(id, 4).c_str(), "00112233");
  assert_string_equal(udptun::protocol::session_id_hex(id, 99).size() == 32 ? "ok" : "long", "ok");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_session_id_hex),
      cmocka_unit_test(test_client_hello_layout_and_round_trip),
      cmocka_unit_test(test_client_hello_wrong_key_fails_verification),
      cmocka_unit_test(test_client_hello_any_changed_byte_is_caught),
      cmocka_unit_test(test_client_hello_bad_preface),
      cmocka_unit_test(test_client_hello_join_carries_its_lane),
      cmocka_unit_test(test_server_challenge),
      cmocka_unit_test(test_client_hello_is_bound_to_the_challenge),
      cmocka_unit_test(test_server_hello_round_trip_every_status),
      cmocka_unit_test(test_server_hello_is_bound_to_its_client_hello),
      cmocka_unit_test(test_server_hello_rejects_garbage),
      cmocka_unit_test(test_known_answer_macs),
      cmocka_unit_test(test_mac_comparison),
  };
  return cmocka_run_group_tests_name("handshake", tests, nullptr, nullptr);
}
