// FWD UDP (hev-socks5) and UDP-over-TCP (sing-box) on a SOCKS5 stream (docs/PROTOCOL.md
// §7.2, §7.3): handshakes and datagram framings against byte layouts written out by hand.
#include <cstring>
#include <string>

#include "cmocka_support.hpp"
#include "frame_collector.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/frame_decoder.hpp"
#include "udptun/protocol/udp_over_socks5.hpp"

using namespace udptun::protocol;
using namespace udptun::protocol::socks5;
using test::bytes;

static Address v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  uint8_t ip[4] = {a, b, c, d};
  return Address::ipv4(ip, port);
}

using test::Frames;
using test::frames_of;

static const std::vector<uint8_t> kGreeting = bytes({0x05, 0x01, 0x00});  // no auth
static const std::vector<uint8_t> kFwdRequest =
    bytes({0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0});  // FWD UDP, 0.0.0.0:0
static const std::vector<uint8_t> kSucceeded = bytes({0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0});
// The example of docs/PROTOCOL.md: "hi" to 10.0.0.1:53.
static const std::vector<uint8_t> kFwdDatagram =
    bytes({0x00, 0x02, 0x0a, 0x01, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x35, 0x68, 0x69});
static const std::vector<uint8_t> kUotDatagram =
    bytes({0x00, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x35, 0x00, 0x02, 0x68, 0x69});

static std::vector<uint8_t> uot_request(const char* name) {
  // CONNECT to the name, port 0.
  std::string r = std::string("\x05\x01\x00\x03", 4) + static_cast<char>(std::strlen(name)) + name +
                  std::string(2, '\0');
  return std::vector<uint8_t>(r.begin(), r.end());
}

static void test_fwd_udp_handshake_and_datagrams(void**) {
  UdpOverSocks5Translator t("", "");
  std::vector<uint8_t> in = kGreeting, frames, answer;
  test::append(in, kFwdRequest);
  test::append(in, kFwdDatagram);
  assert_true(t.decode(ByteView(in), frames, answer));
  auto want = bytes({0x05, 0x00});  // method: no auth
  test::append(want, kSucceeded);
  assert_true(answer == want);
  assert_true(t.mode() == UdpOverSocks5Translator::Mode::fwd_udp);
  Frames f = frames_of(frames);
  assert_int_equal(f.all.size(), 2);
  OpenFlow open = std::get<OpenFlow>(f.all[0]);
  assert_true(open.target == v4(10, 0, 0, 1, 53));
  assert_false(std::get<Data>(f.all[1]).has_address);
  assert_string_equal(f.text(1).c_str(), "hi");
  // To another destination: the same flow, with its address.
  auto other = kFwdDatagram;
  other[7] = 0x02;  // 10.0.0.2
  frames.clear();
  assert_true(t.decode(ByteView(other), frames, answer));
  f = frames_of(frames);
  assert_int_equal(f.all.size(), 1);
  auto& d = std::get<Data>(f.all[0]);
  assert_int_equal(d.flow_id, open.flow_id);
  assert_true(d.has_address && d.address == v4(10, 0, 0, 2, 53));
  // A reply from the target comes back in the same framing, with its source.
  std::vector<uint8_t> reply, wire;
  auto yo = bytes("yo");
  append_frame(reply, Data{open.flow_id, false, {}, ByteView(yo)});
  assert_true(t.encode(ByteView(reply), wire));
  assert_true(wire ==
              bytes({0x00, 0x02, 0x0a, 0x01, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x35, 'y', 'o'}));
}

static void test_uot_v1_and_v2(void**) {
  {
    UdpOverSocks5Translator t("", "");
    std::vector<uint8_t> in = kGreeting, frames, answer;
    test::append(in, uot_request(kUotV1Name));
    test::append(in, kUotDatagram);
    assert_true(t.decode(ByteView(in), frames, answer));
    assert_true(t.mode() == UdpOverSocks5Translator::Mode::uot_v1);
    Frames f = frames_of(frames);
    assert_true(std::get<OpenFlow>(f.all[0]).target == v4(10, 0, 0, 1, 53));
    assert_string_equal(f.text(1).c_str(), "hi");
    std::vector<uint8_t> reply, wire;
    uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8};
    ip6[15] = 7;
    auto z = bytes("z");
    append_frame(reply, Data{1, true, Address::ipv6(ip6, 443), ByteView(z)});
    assert_true(t.encode(ByteView(reply), wire));
    auto want = bytes({0x01, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,  // v6
                       0x01, 0xbb, 0x00, 0x01, 'z'});
    assert_true(wire == want);
  }
  {
    // Version 2, connected to 10.0.0.9:7: datagrams are LENGTH + PAYLOAD.
    UdpOverSocks5Translator t("", "");
    std::vector<uint8_t> in = kGreeting, frames, answer;
    test::append(in, uot_request(kUotV2Name));
    test::append(in, bytes({0x01, 0x01, 0x0a, 0x00, 0x00, 0x09, 0x00, 0x07}));  // request
    test::append(in, bytes({0x00, 0x03, 'a', 'b', 'c'}));
    assert_true(t.decode(ByteView(in), frames, answer));
    assert_true(t.mode() == UdpOverSocks5Translator::Mode::uot_v2);
    Frames f = frames_of(frames);
    assert_true(std::get<OpenFlow>(f.all[0]).target == v4(10, 0, 0, 9, 7));
    assert_string_equal(f.text(1).c_str(), "abc");
    std::vector<uint8_t> reply, wire;
    auto ok = bytes("ok");
    append_frame(reply, Data{1, false, {}, ByteView(ok)});
    assert_true(t.encode(ByteView(reply), wire));
    assert_true(wire == bytes({0x00, 0x02, 'o', 'k'}));
    // Version 2 not connected: the v1 framing.
    UdpOverSocks5Translator u("", "");
    in = kGreeting;
    frames.clear();
    test::append(in, uot_request(kUotV2Name));
    test::append(in, bytes({0x00, 0x01, 0, 0, 0, 0, 0, 0}));
    test::append(in, kUotDatagram);
    assert_true(u.decode(ByteView(in), frames, answer));
    assert_true(u.mode() == UdpOverSocks5Translator::Mode::uot_v1);
    assert_string_equal(frames_of(frames).text(1).c_str(), "hi");
  }
}

static void test_refusals(void**) {
  // CONNECT elsewhere: not allowed (0x02), the stream ends.
  UdpOverSocks5Translator t("", "");
  std::vector<uint8_t> in = kGreeting, frames, answer;
  test::append(in, bytes({0x05, 0x01, 0x00, 0x01, 10, 0, 0, 1, 0, 80}));
  assert_false(t.decode(ByteView(in), frames, answer));
  assert_true(answer == bytes({0x05, 0x00, 0x05, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0, 0}));
  assert_true(frames.empty());
  // UDP ASSOCIATE: not supported (0x07).
  UdpOverSocks5Translator u("", "");
  in = kGreeting;
  answer.clear();
  test::append(in, bytes({0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0}));
  assert_false(u.decode(ByteView(in), frames, answer));
  assert_int_equal(answer[3], 0x07);
  // With credentials configured, a client without them is refused (0xFF)...
  UdpOverSocks5Translator c("user", "secret");
  answer.clear();
  assert_false(c.decode(ByteView(kGreeting), frames, answer));
  assert_true(answer == bytes({0x05, 0xff}));
  // ...a wrong password gets status 1, the right one goes on.
  UdpOverSocks5Translator w("user", "secret"), r("user", "secret");
  auto offer = bytes({0x05, 0x01, 0x02});
  auto wrong = bytes({0x01, 4, 'u', 's', 'e', 'r', 5, 's', 'e', 'c', 'r', 'x'});
  auto right = bytes({0x01, 4, 'u', 's', 'e', 'r', 6, 's', 'e', 'c', 'r', 'e', 't'});
  in = offer;
  test::append(in, wrong);
  answer.clear();
  assert_false(w.decode(ByteView(in), frames, answer));
  assert_true(answer == bytes({0x05, 0x02, 0x01, 0x01}));
  in = offer;
  test::append(in, right);
  test::append(in, kFwdRequest);
  answer.clear();
  assert_true(r.decode(ByteView(in), frames, answer));
  assert_true(r.mode() == UdpOverSocks5Translator::Mode::fwd_udp);
}

static void test_bad_framing_ends_the_stream(void**) {
  UdpOverSocks5Translator t("", "");
  std::vector<uint8_t> in = kGreeting, frames, answer;
  test::append(in, kFwdRequest);
  test::append(in, bytes({0x00, 0x01, 0x0b, 0x01, 10, 0, 0, 1, 0, 53, 0xAA, 'x'}));  // HDRLEN 11
  assert_false(t.decode(ByteView(in), frames, answer));
  assert_non_null(t.error());
  // An oversize payload is dropped, the stream goes on.
  UdpOverSocks5Translator u("", "");
  in = kGreeting;
  test::append(in, uot_request(kUotV1Name));
  std::vector<uint8_t> big = {0x00, 10, 0, 0, 1, 0, 9, 0xff, 0xff};
  big.resize(big.size() + 65'535, 'b');
  test::append(in, big);
  test::append(in, kUotDatagram);
  frames.clear();
  assert_true(u.decode(ByteView(in), frames, answer));
  assert_int_equal(u.counters().oversize, 1);
  assert_string_equal(frames_of(frames).text(1).c_str(), "hi");
}

static void test_any_split_gives_the_same_frames(void**) {
  std::vector<uint8_t> in = kGreeting;
  test::append(in, kFwdRequest);
  test::append(in, kFwdDatagram);
  test::append(in, kFwdDatagram);
  UdpOverSocks5Translator whole("", "");
  std::vector<uint8_t> want, want_answer;
  assert_true(whole.decode(ByteView(in), want, want_answer));
  for (size_t a = 0; a <= in.size(); ++a) {
    for (size_t b = a; b <= in.size(); ++b) {
      UdpOverSocks5Translator t("", "");
      std::vector<uint8_t> got, answer;
      assert_true(t.decode(ByteView(in.data(), a), got, answer));
      assert_true(t.decode(ByteView(in.data() + a, b - a), got, answer));
      assert_true(t.decode(ByteView(in.data() + b, in.size() - b), got, answer));
      assert_true(got == want);
      assert_true(answer == want_answer);
      assert_int_equal(t.buffered(), 0);
    }
  }
}

static void test_refused_flow_reopens(void**) {
  UdpOverSocks5Translator t("", "");
  std::vector<uint8_t> in = kGreeting, frames, answer;
  test::append(in, kFwdRequest);
  test::append(in, kFwdDatagram);
  t.decode(ByteView(in), frames, answer);
  std::vector<uint8_t> status, wire;
  append_frame(status, FlowStatus{1, FlowState::target_forbidden, false, {}});
  auto late = bytes("late");
  append_frame(status, Data{1, false, {}, ByteView(late)});
  assert_true(t.encode(ByteView(status), wire));
  assert_true(wire.empty());
  assert_int_equal(t.counters().orphans, 1);
  frames.clear();
  t.decode(ByteView(kFwdDatagram), frames, answer);
  assert_int_equal(std::get<OpenFlow>(frames_of(frames).all[0]).flow_id, 2);
}

// Recorded from hev-socks5-tunnel (heiher/hev-socks5-tunnel 1d33451, udp: 'tcp') talking to
// udp-server's SOCKS5 listener, by bench/interop.sh with RECORD_DIR (socat -x), 2026-12-07:
// the handshake both ways, a DNS query for interop.test and the answer udp-server sent.
static void test_recorded_hev_exchange(void**) {
  auto client =
      bytes({0x05, 0x01, 0x00,                                            // greeting
             0x05, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // FWD UDP
             0x00, 0x1e, 0x0a, 0x01, 0xc0, 0x00, 0x02, 0x01, 0x00, 0x35, 0x12, 0x34, 0x01, 0x00,
             0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x69, 0x6e, 0x74, 0x65, 0x72,
             0x6f, 0x70, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01});
  auto server_handshake = bytes({0x05, 0x00, 0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0});
  auto server_answer =
      bytes({0x00, 0x2e, 0x0a, 0x01, 0xc0, 0x00, 0x02, 0x01, 0x00, 0x35, 0x12, 0x34, 0x85, 0x80,
             0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x07, 0x69, 0x6e, 0x74, 0x65, 0x72,
             0x6f, 0x70, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c,
             0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x01, 0x02, 0x03});
  UdpOverSocks5Translator t("", "");
  std::vector<uint8_t> frames, answer;
  assert_true(t.decode(ByteView(client), frames, answer));
  assert_true(answer == server_handshake);
  Frames f = frames_of(frames);
  assert_true(std::get<OpenFlow>(f.all[0]).target == v4(192, 0, 2, 1, 53));
  assert_int_equal(f.payloads[1].size(), 0x1e);
  std::vector<uint8_t> dns(server_answer.begin() + 10, server_answer.end()), reply, wire;
  append_frame(reply, Data{1, false, {}, ByteView(dns)});
  assert_true(t.encode(ByteView(reply), wire));
  assert_true(wire == server_answer);
}

// udp-local's side against the server's: the handshake (with credentials), datagrams written
// before the server accepted (held, then sent), replies with their source; both framings.
static void test_client_side_against_the_server_side(void**) {
  using Kind = UdpOverSocks5ClientTranslator::Kind;
  for (Kind kind : {Kind::fwd_udp, Kind::uot}) {
    UdpOverSocks5ClientTranslator client(kind, "gamer", "s3cret");
    UdpOverSocks5Translator server("gamer", "s3cret");
    std::vector<uint8_t> to_server, to_client, frames_at_server, frames_at_client, unused;
    client.start(to_server);
    std::vector<uint8_t> mine;
    auto early = bytes("early");
    append_frame(mine, OpenFlow{4, v4(10, 0, 0, 1, 53), false, {}});
    append_frame(mine, Data{4, false, {}, ByteView(early)});
    assert_true(client.encode(ByteView(mine), to_server));  // held: not accepted yet
    // The conversation, until neither side has anything to say.
    for (int round = 0; round < 6; ++round) {
      std::vector<uint8_t> a, b;
      assert_true(server.decode(ByteView(to_server), frames_at_server, a));
      to_server.clear();
      assert_true(client.decode(ByteView(a), frames_at_client, b));
      to_server = b;
    }
    assert_true(client.established());
    assert_true(server.mode() == (kind == Kind::fwd_udp ? UdpOverSocks5Translator::Mode::fwd_udp
                                                        : UdpOverSocks5Translator::Mode::uot_v1));
    Frames f = frames_of(frames_at_server);
    assert_int_equal(f.all.size(), 2);
    assert_true(std::get<OpenFlow>(f.all[0]).target == v4(10, 0, 0, 1, 53));
    assert_string_equal(f.text(1).c_str(), "early");
    // A reply from another source comes back to flow 4 with that source.
    std::vector<uint8_t> reply, wire;
    auto yo = bytes("yo");
    append_frame(reply, Data{1, true, v4(10, 0, 0, 9, 99), ByteView(yo)});
    assert_true(server.encode(ByteView(reply), wire));
    frames_at_client.clear();
    assert_true(client.decode(ByteView(wire), frames_at_client, unused));
    Frames g = frames_of(frames_at_client);
    auto& d = std::get<Data>(g.all[0]);
    assert_int_equal(d.flow_id, 4);
    assert_true(d.has_address && d.address == v4(10, 0, 0, 9, 99));
    assert_string_equal(g.text(0).c_str(), "yo");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fwd_udp_handshake_and_datagrams),
      cmocka_unit_test(test_uot_v1_and_v2),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_bad_framing_ends_the_stream),
      cmocka_unit_test(test_any_split_gives_the_same_frames),
      cmocka_unit_test(test_refused_flow_reopens),
      cmocka_unit_test(test_recorded_hev_exchange),
      cmocka_unit_test(test_client_side_against_the_server_side),
  };
  return cmocka_run_group_tests_name("udp_over_socks5", tests, nullptr, nullptr);
}
