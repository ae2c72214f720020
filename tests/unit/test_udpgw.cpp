// badvpn udpgw (docs/PROTOCOL.md §7.1): the packet codec against byte layouts written out by
// hand, and the translator that turns a client's packets into udptun frames and back.
#include <string>

#include "cmocka_support.hpp"
#include "frame_collector.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/frame_decoder.hpp"
#include "udptun/protocol/udpgw.hpp"

using namespace udptun::protocol;
using namespace udptun::protocol::udpgw;
using test::bytes;

static Address v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  uint8_t ip[4] = {a, b, c, d};
  return Address::ipv4(ip, port);
}

using test::Frames;
using test::frames_of;

// The example of docs/PROTOCOL.md: a datagram "hi" on id 5 to 10.0.0.1:53.
static const std::vector<uint8_t> kExample = bytes({
    0x0b, 0x00,                          // LEN 11, little-endian
    0x00,                                // FLAGS: none
    0x05, 0x00,                          // CONID 5, little-endian
    0x0a, 0x00, 0x00, 0x01, 0x00, 0x35,  // 10.0.0.1, port 53 (network order)
    0x68, 0x69,                          // "hi"
});

static void test_decodes_the_documented_example(void**) {
  auto p = decode_packet(ByteView(kExample));
  assert_true(p.ok());
  assert_int_equal(p.consumed, kExample.size());
  assert_int_equal(p.value.flags, 0);
  assert_int_equal(p.value.conid, 5);
  assert_true(p.value.has_address);
  assert_true(p.value.address == v4(10, 0, 0, 1, 53));
  assert_int_equal(p.value.payload.size, 2);
  assert_memory_equal(p.value.payload.data, "hi", 2);
  // Every proper prefix asks for more.
  for (size_t k = 0; k < kExample.size(); ++k)
    assert_true(decode_packet(ByteView(kExample.data(), k)).need_more());
}

static void test_encodes_byte_for_byte(void**) {
  std::vector<uint8_t> out;
  Address a = v4(10, 0, 0, 1, 53);
  assert_true(append_packet(out, 0, 5, &a, ByteView(bytes("hi"))));
  assert_true(out == kExample);
  // IPv6 sets its flag: LEN 3 + 18 + 1 = 22.
  uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8};
  ip[15] = 1;
  Address six = Address::ipv6(ip, 0x1234);
  out.clear();
  assert_true(append_packet(out, 0, 0x0102, &six, ByteView(bytes("z"))));
  auto want = bytes({0x16, 0x00,                                                  // LEN 22
                     0x08,                                                        // FLAGS: IPV6
                     0x02, 0x01,                                                  // CONID 0x0102
                     0x20, 0x01, 0x0d, 0xb8,                                      // 2001:db8::1
                     0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 1, 0x12, 0x34,  // port 0x1234
                     'z'});
  assert_true(out == want);
  auto back = decode_packet(ByteView(out));
  assert_true(back.ok() && back.value.address == six && back.value.conid == 0x0102);
  // Too big for a 16-bit length, or a name for an address: refused.
  std::vector<uint8_t> big(65'535 - 3 - 6 + 1);
  assert_false(append_packet(out, 0, 1, &a, ByteView(big)));
  Address name = *Address::from_domain("example.com", 53);
  assert_false(append_packet(out, 0, 1, &name, ByteView(bytes("x"))));
}

static void test_keepalive_has_no_address(void**) {
  auto keepalive = bytes({0x03, 0x00, 0x01, 0x00, 0x00});  // badvpn-tun2socks' own
  auto p = decode_packet(ByteView(keepalive));
  assert_true(p.ok());
  assert_true(p.value.flags & flag::kKeepalive);
  assert_false(p.value.has_address);
}

static void test_short_packets_are_skipped_not_fatal(void**) {
  UdpgwTranslator t(256, std::nullopt);
  std::vector<uint8_t> wire = bytes({0x00, 0x00,                    // LEN 0
                                     0x02, 0x00, 0x00, 0x05,        // header cut short
                                     0x05, 0x00, 0x00, 0x01, 0x00,  // no room for an address
                                     0x01, 0x02});
  test::append(wire, kExample);
  std::vector<uint8_t> out;
  assert_true(t.decode(ByteView(wire), out));
  assert_int_equal(t.counters().malformed, 3);
  Frames f = frames_of(out);
  assert_int_equal(f.all.size(), 2);  // the good packet after them: OPEN_FLOW, DATA
  assert_true(std::holds_alternative<OpenFlow>(f.all[0]));
  assert_true(f.payloads[1] == bytes("hi"));
}

static void test_an_id_is_a_flow_until_rebound(void**) {
  UdpgwTranslator t(256, std::nullopt);
  std::vector<uint8_t> out;
  assert_true(t.decode(ByteView(kExample), out));
  assert_true(t.decode(ByteView(kExample), out));  // the same id and address: the same flow
  Frames f = frames_of(out);
  assert_int_equal(f.all.size(), 3);
  OpenFlow open = std::get<OpenFlow>(f.all[0]);
  assert_true(open.target == v4(10, 0, 0, 1, 53));
  assert_int_equal(std::get<Data>(f.all[1]).flow_id, open.flow_id);
  assert_int_equal(std::get<Data>(f.all[2]).flow_id, open.flow_id);
  // REBIND: the old flow closes and a new one opens (a new port at the server).
  std::vector<uint8_t> rebind = kExample;
  rebind[2] = flag::kRebind;
  out.clear();
  assert_true(t.decode(ByteView(rebind), out));
  f = frames_of(out);
  assert_int_equal(f.all.size(), 3);
  assert_int_equal(std::get<CloseFlow>(f.all[0]).flow_id, open.flow_id);
  uint32_t second = std::get<OpenFlow>(f.all[1]).flow_id;
  assert_int_not_equal(second, open.flow_id);
  // Another address on the id: the same.
  std::vector<uint8_t> moved = kExample;
  moved[8] = 0x02;  // 10.0.0.2
  out.clear();
  assert_true(t.decode(ByteView(moved), out));
  f = frames_of(out);
  assert_int_equal(std::get<CloseFlow>(f.all[0]).flow_id, second);
  assert_true(std::get<OpenFlow>(f.all[1]).target == v4(10, 0, 0, 2, 53));
  assert_int_equal(t.counters().rebinds, 2);
  assert_int_equal(t.ids(), 1);
}

static std::vector<uint8_t> datagram(uint16_t conid, uint8_t flags = 0) {
  std::vector<uint8_t> out;
  Address a = v4(10, 0, 0, 1, 53);
  append_packet(out, flags, conid, &a, ByteView(bytes("q")));
  return out;
}

static void test_least_recently_used_id_makes_room(void**) {
  UdpgwTranslator t(3, std::nullopt);
  std::vector<uint8_t> out;
  for (uint16_t id : {1, 2, 3, 1}) t.decode(ByteView(datagram(id)), out);  // 2 is now oldest
  out.clear();
  t.decode(ByteView(datagram(4)), out);
  Frames f = frames_of(out);
  assert_int_equal(f.all.size(), 3);
  assert_int_equal(std::get<CloseFlow>(f.all[0]).flow_id, 2);  // flows numbered 1, 2, 3
  assert_int_equal(t.counters().evicted, 1);
  assert_int_equal(t.ids(), 3);
}

static void test_dns_flag_goes_to_the_resolver_and_replies_keep_the_address(void**) {
  Address resolver = v4(192, 0, 2, 53, 53);
  UdpgwTranslator t(256, resolver);
  std::vector<uint8_t> out;
  t.decode(ByteView(datagram(9, flag::kDns)), out);
  Frames f = frames_of(out);
  OpenFlow open = std::get<OpenFlow>(f.all[0]);
  assert_true(open.target == resolver);
  // The reply, even from the resolver (another source than the client's address): sent back
  // as from the address the client gave.
  std::vector<uint8_t> reply;
  auto answer = bytes("answer");
  Data d{open.flow_id, true, resolver, ByteView(answer)};
  append_frame(reply, d);
  std::vector<uint8_t> wire;
  assert_true(t.encode(ByteView(reply), wire));
  auto p = decode_packet(ByteView(wire));
  assert_true(p.ok());
  assert_int_equal(p.value.conid, 9);
  assert_int_equal(p.value.flags, 0);
  assert_true(p.value.address == v4(10, 0, 0, 1, 53));
  assert_memory_equal(p.value.payload.data, "answer", 6);
}

static void test_server_closing_a_flow_frees_its_id(void**) {
  UdpgwTranslator t(256, std::nullopt);
  std::vector<uint8_t> out;
  t.decode(ByteView(datagram(7)), out);
  uint32_t flow = std::get<OpenFlow>(frames_of(out).all[0]).flow_id;
  std::vector<uint8_t> from_server, wire;
  append_frame(from_server, CloseFlow{flow, CloseReason::idle});
  append_frame(from_server, Ping{1});  // nothing to say it with: dropped
  auto late_bytes = bytes("late");
  Data late{flow, false, {}, ByteView(late_bytes)};
  append_frame(from_server, late);
  assert_true(t.encode(ByteView(from_server), wire));
  assert_true(wire.empty());
  assert_int_equal(t.counters().orphans, 1);
  assert_int_equal(t.ids(), 0);
  // The id's next datagram opens a new flow.
  out.clear();
  t.decode(ByteView(datagram(7)), out);
  assert_true(std::get<OpenFlow>(frames_of(out).all[0]).flow_id != flow);
  // A refusal frees it too.
  uint32_t again = flow + 1;
  from_server.clear();
  append_frame(from_server, FlowStatus{again, FlowState::target_forbidden, false, {}});
  assert_true(t.encode(ByteView(from_server), wire));
  assert_int_equal(t.ids(), 0);
}

static void test_any_split_gives_the_same_frames(void**) {
  std::vector<uint8_t> wire = bytes({0x03, 0x00, 0x01, 0x00, 0x00});
  test::append(wire, kExample);
  test::append(wire, datagram(6, flag::kRebind));
  UdpgwTranslator whole(256, std::nullopt);
  std::vector<uint8_t> want;
  whole.decode(ByteView(wire), want);
  for (size_t a = 0; a <= wire.size(); ++a) {
    for (size_t b = a; b <= wire.size(); b += 3) {
      UdpgwTranslator t(256, std::nullopt);
      std::vector<uint8_t> got;
      t.decode(ByteView(wire.data(), a), got);
      t.decode(ByteView(wire.data() + a, b - a), got);
      t.decode(ByteView(wire.data() + b, wire.size() - b), got);
      assert_true(got == want);
      assert_int_equal(t.buffered(), 0);
    }
  }
  assert_int_equal(whole.counters().keepalives, 1);
  assert_true(std::holds_alternative<Ping>(frames_of(want).all[0]));
}

static void test_oversize_datagram_dropped(void**) {
  UdpgwTranslator t(256, std::nullopt);
  std::vector<uint8_t> big(kMaxDatagram + 1, 0x41), wire;
  Address a = v4(10, 0, 0, 1, 9);
  assert_true(append_packet(wire, 0, 1, &a, ByteView(big)));
  std::vector<uint8_t> out;
  assert_true(t.decode(ByteView(wire), out));
  assert_true(out.empty());
  assert_int_equal(t.counters().oversize, 1);
}

// Recorded from badvpn-tun2socks (ambrop72/badvpn 07268f0, --udpgw-transparent-dns) talking to
// udp-server's udpgw listener, by bench/interop.sh with RECORD_DIR (socat -x), 2026-12-07: a
// DNS query for interop.test from the client's first connection id (REBIND: the first datagram
// of an id), the answer udp-server sent, and the client's keepalive 10 s later.
static const std::vector<uint8_t> kRecordedQuery =
    bytes({0x27, 0x00, 0x02, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01, 0x00, 0x35, 0x12, 0x34, 0x01,
           0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x69, 0x6e, 0x74, 0x65,
           0x72, 0x6f, 0x70, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01});
static const std::vector<uint8_t> kRecordedAnswer =
    bytes({0x37, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01, 0x00, 0x35, 0x12, 0x34, 0x85, 0x80,
           0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x07, 0x69, 0x6e, 0x74, 0x65, 0x72, 0x6f,
           0x70, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x01,
           0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x01, 0x02, 0x03});
static const std::vector<uint8_t> kRecordedKeepalive = bytes({0x03, 0x00, 0x01, 0x00, 0x00});

static void test_recorded_badvpn_exchange(void**) {
  UdpgwTranslator t(256, std::nullopt);
  std::vector<uint8_t> in = kRecordedQuery, out;
  test::append(in, kRecordedKeepalive);
  assert_true(t.decode(ByteView(in), out));
  Frames f = frames_of(out);
  assert_int_equal(f.all.size(), 3);  // OPEN_FLOW, DATA, PING
  OpenFlow open = std::get<OpenFlow>(f.all[0]);
  assert_true(open.target == v4(192, 0, 2, 1, 53));
  assert_int_equal(f.payloads[1].size(), 0x27 - 9);
  assert_true(std::holds_alternative<Ping>(f.all[2]));
  // The answer dnsmasq gave (its 46 bytes), as udp-server's frame: the recorded packet.
  std::vector<uint8_t> dns(kRecordedAnswer.begin() + 11, kRecordedAnswer.end()), reply, wire;
  append_frame(reply, Data{open.flow_id, false, {}, ByteView(dns)});
  assert_true(t.encode(ByteView(reply), wire));
  assert_true(wire == kRecordedAnswer);
}

// udp-local's side: frames → packets (a REBIND on each id's first datagram, as badvpn-tun2socks
// sends; an id per destination), packets → frames; checked against the byte layout and
// against the server's translator.
static void test_client_side_round_trip(void**) {
  UdpgwClientTranslator client(256);
  UdpgwTranslator server(256, std::nullopt);
  std::vector<uint8_t> frames, wire;
  auto hi = bytes("hi"), again = bytes("again"), other = bytes("other");
  append_frame(frames, OpenFlow{7, v4(10, 0, 0, 1, 53), false, {}});
  append_frame(frames, Data{7, false, {}, ByteView(hi)});
  append_frame(frames, Data{7, false, {}, ByteView(again)});
  append_frame(frames, Data{7, true, v4(10, 0, 0, 2, 53), ByteView(other)});
  append_frame(frames, Ping{5});
  assert_true(client.encode(ByteView(frames), wire));
  // The first datagram, byte for byte: LEN 11, REBIND, id 0, 10.0.0.1:53, "hi".
  auto first = bytes({0x0b, 0x00, 0x02, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x35, 'h', 'i'});
  assert_memory_equal(wire.data(), first.data(), first.size());
  // Then "again" on id 0 without REBIND, "other" on id 1 with it, and a keepalive.
  assert_int_equal(wire[first.size() + 2], 0x00);
  auto keepalive = bytes({0x03, 0x00, 0x01, 0x00, 0x00});
  assert_memory_equal(wire.data() + wire.size() - 5, keepalive.data(), 5);
  assert_int_equal(client.ids(), 2);
  // Through the server's translator: two flows there (udpgw binds an id to one address).
  std::vector<uint8_t> at_server;
  assert_true(server.decode(ByteView(wire), at_server));
  Frames f = frames_of(at_server);
  assert_int_equal(f.all.size(), 6);  // OPEN, DATA, DATA, OPEN, DATA, PING
  uint32_t second_flow = std::get<OpenFlow>(f.all[3]).flow_id;
  assert_true(f.payloads[2] == again && f.payloads[4] == other);
  // A reply on the server's second flow comes back to flow 7, from 10.0.0.2:53.
  std::vector<uint8_t> reply, back, frames_back;
  auto yo = bytes("yo");
  append_frame(reply, Data{second_flow, false, {}, ByteView(yo)});
  assert_true(server.encode(ByteView(reply), back));
  std::vector<uint8_t> none;
  assert_true(client.decode(ByteView(back), frames_back, none));
  Frames g = frames_of(frames_back);
  assert_int_equal(g.all.size(), 1);
  auto& d = std::get<Data>(g.all[0]);
  assert_int_equal(d.flow_id, 7);
  assert_true(d.has_address && d.address == v4(10, 0, 0, 2, 53));
  assert_true(g.payloads[0] == yo);
  // Closing the flow frees its ids for the next flows.
  std::vector<uint8_t> close;
  append_frame(close, CloseFlow{7, CloseReason::idle});
  wire.clear();
  assert_true(client.encode(ByteView(close), wire));
  assert_int_equal(client.ids(), 0);
}

static void test_client_side_reuses_the_least_recent_id(void**) {
  UdpgwClientTranslator client(2);
  std::vector<uint8_t> frames, wire;
  auto x = bytes("x");
  for (uint32_t flow = 1; flow <= 3; ++flow) {
    append_frame(frames, OpenFlow{flow, v4(10, 0, 0, static_cast<uint8_t>(flow), 9), false, {}});
    append_frame(frames, Data{flow, false, {}, ByteView(x)});
  }
  assert_true(client.encode(ByteView(frames), wire));
  assert_int_equal(client.counters().ids_reused, 1);
  assert_int_equal(client.ids(), 2);
  // The third flow took id 0 (flow 1's, the least recent), with REBIND.
  size_t third = 2 * (2 + 3 + 6 + 1);
  assert_int_equal(wire[third + 2], flag::kRebind);
  assert_int_equal(wire[third + 3], 0);
  // A reply for flow 1's old id now belongs to flow 3.
  std::vector<uint8_t> reply, back, none;
  Address a = v4(10, 0, 0, 3, 9);
  append_packet(reply, 0, 0, &a, ByteView(x));
  assert_true(client.decode(ByteView(reply), back, none));
  assert_int_equal(std::get<Data>(frames_of(back).all[0]).flow_id, 3);
  // A flow to a name cannot be carried.
  std::vector<uint8_t> named;
  append_frame(named, OpenFlow{9, *Address::from_domain("example.com", 53), false, {}});
  append_frame(named, Data{9, false, {}, ByteView(x)});
  wire.clear();
  assert_true(client.encode(ByteView(named), wire));
  assert_true(wire.empty());
  assert_int_equal(client.counters().names_dropped, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decodes_the_documented_example),
      cmocka_unit_test(test_encodes_byte_for_byte),
      cmocka_unit_test(test_keepalive_has_no_address),
      cmocka_unit_test(test_short_packets_are_skipped_not_fatal),
      cmocka_unit_test(test_an_id_is_a_flow_until_rebound),
      cmocka_unit_test(test_least_recently_used_id_makes_room),
      cmocka_unit_test(test_dns_flag_goes_to_the_resolver_and_replies_keep_the_address),
      cmocka_unit_test(test_server_closing_a_flow_frees_its_id),
      cmocka_unit_test(test_any_split_gives_the_same_frames),
      cmocka_unit_test(test_oversize_datagram_dropped),
      cmocka_unit_test(test_recorded_badvpn_exchange),
      cmocka_unit_test(test_client_side_round_trip),
      cmocka_unit_test(test_client_side_reuses_the_least_recent_id),
  };
  return cmocka_run_group_tests_name("udpgw", tests, nullptr, nullptr);
}
