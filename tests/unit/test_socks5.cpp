#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "cmocka_support.hpp"
#include "udptun/protocol/socks5.hpp"
#include "udptun/protocol/socks5_client.hpp"
#include "udptun/protocol/socks5_reassembly.hpp"

using namespace udptun::protocol;
using namespace udptun::protocol::socks5;
using test::bytes;

template <class Encode>
static std::vector<uint8_t> encoded(Encode encode) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  encode(w);
  return out;
}

static void test_greeting_round_trip_and_splits(void**) {
  Greeting g;
  g.method_count = 2;
  g.methods[0] = method::kNoAuth;
  g.methods[1] = method::kUserPass;
  auto msg = encoded([&](ByteWriter& w) { encode_greeting(w, g); });
  assert_true(msg == bytes({0x05, 0x02, 0x00, 0x02}));
  Greeting back = test::assert_parses_only_when_whole(decode_greeting, msg);
  assert_int_equal(back.method_count, 2);
  assert_true(back.offers(method::kUserPass));
  assert_false(back.offers(method::kGssapi));

  Greeting all;
  all.method_count = 255;
  for (int i = 0; i < 255; ++i) all.methods[i] = static_cast<uint8_t>(i);
  auto big = encoded([&](ByteWriter& w) { encode_greeting(w, all); });
  assert_int_equal(test::assert_parses_only_when_whole(decode_greeting, big).method_count, 255);
}

static void test_greeting_rejects_garbage(void**) {
  test::assert_rejected(decode_greeting, bytes({0x04, 0x01, 0x00}), "bad version");
  test::assert_rejected(decode_greeting, bytes({'G', 'E', 'T', ' '}), "bad version");
  test::assert_rejected(decode_greeting, bytes({0x05, 0x00}), "no methods");
}

static void test_method_selection(void**) {
  for (uint8_t m : {method::kNoAuth, method::kUserPass, method::kNoAcceptable}) {
    auto msg = encoded([&](ByteWriter& w) { encode_method_selection(w, MethodSelection{m}); });
    assert_int_equal(test::assert_parses_only_when_whole(decode_method_selection, msg).method, m);
  }
  test::assert_rejected(decode_method_selection, bytes({0x01, 0x00}), "bad version");
}

static void test_user_pass_round_trip(void**) {
  auto msg =
      encoded([](ByteWriter& w) { assert_true(encode_user_pass_request(w, "alice", "s3cret")); });
  assert_true(msg == bytes({0x01, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', '3', 'c', 'r', 'e', 't'}));
  auto u = test::assert_parses_only_when_whole(decode_user_pass_request, msg);
  assert_true(u.user_name() == "alice");
  assert_true(u.password_text() == "s3cret");

  std::string longest(255, 'x');
  auto big =
      encoded([&](ByteWriter& w) { assert_true(encode_user_pass_request(w, longest, longest)); });
  auto ub = test::assert_parses_only_when_whole(decode_user_pass_request, big);
  assert_true(ub.user_name() == longest && ub.password_text() == longest);

  auto empty_pw =
      encoded([](ByteWriter& w) { assert_true(encode_user_pass_request(w, "bob", "")); });
  assert_true(test::assert_parses_only_when_whole(decode_user_pass_request, empty_pw)
                  .password_text()
                  .empty());

  std::vector<uint8_t> none;
  ByteWriter w(none);
  assert_false(encode_user_pass_request(w, "", "pw"));
  assert_false(encode_user_pass_request(w, std::string(256, 'u'), "pw"));
  assert_false(encode_user_pass_request(w, "u", std::string(256, 'p')));
  assert_true(none.empty());
}

static void test_user_pass_rejects_garbage(void**) {
  test::assert_rejected(decode_user_pass_request, bytes({0x05, 1, 'a', 1, 'b'}), "version");
  test::assert_rejected(decode_user_pass_request, bytes({0x01, 0, 1, 'b'}), "empty user");
  auto ok = encoded([](ByteWriter& w) { encode_user_pass_status(w, UserPassStatus{0}); });
  assert_int_equal(test::assert_parses_only_when_whole(decode_user_pass_status, ok).status, 0);
  auto no = encoded([](ByteWriter& w) { encode_user_pass_status(w, UserPassStatus{1}); });
  assert_int_equal(test::assert_parses_only_when_whole(decode_user_pass_status, no).status, 1);
  test::assert_rejected(decode_user_pass_status, bytes({0x05, 0x00}), "version");
}

static void test_requests_for_every_command_and_address(void**) {
  uint8_t v4[4] = {127, 0, 0, 1};
  uint8_t v6[16] = {0};
  v6[15] = 1;
  Address dests[] = {Address::ipv4(v4, 80), Address::ipv6(v6, 53),
                     *Address::from_domain("example.org", 443)};
  for (Command c : {Command::connect, Command::bind, Command::udp_associate}) {
    for (const Address& d : dests) {
      Request q{c, d};
      auto msg = encoded([&](ByteWriter& w) { encode_request(w, q); });
      Request back = test::assert_parses_only_when_whole(decode_request, msg);
      assert_int_equal(back.command, c);
      assert_true(back.destination == d);
    }
  }
  auto connect = encoded([&](ByteWriter& w) {
    encode_request(w, Request{Command::connect, dests[0]});
  });
  assert_true(connect == bytes({0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0, 80}));
}

static void test_request_errors_carry_reply_codes(void**) {
  test::assert_rejected(decode_request, bytes({0x04, 0x01, 0x00, 0x01}), "bad version", 0x01);
  test::assert_rejected(decode_request, bytes({0x05, 0x09, 0x00, 0x01}), "unknown command", 0x07);
  test::assert_rejected(decode_request, bytes({0x05, 0x00, 0x00, 0x01}), "unknown command", 0x07);
  test::assert_rejected(decode_request, bytes({0x05, 0x01, 0x01, 0x01}), "reserved", 0x01);
  test::assert_rejected(decode_request, bytes({0x05, 0x01, 0x00, 0x05, 1, 2}), "address type",
                        0x08);
  test::assert_rejected(decode_request, bytes({0x05, 0x03, 0x00, 0x03, 0x00, 0, 0}), "empty domain",
                        0x08);
}

static void test_reply_every_code(void**) {
  uint8_t v4[4] = {10, 0, 0, 1};
  for (int code = 0; code <= 8; ++code) {
    ReplyMessage m{static_cast<Reply>(code), Address::ipv4(v4, 1080)};
    auto msg = encoded([&](ByteWriter& w) { encode_reply(w, m); });
    assert_int_equal(msg[1], code);
    ReplyMessage back = test::assert_parses_only_when_whole(decode_reply, msg);
    assert_int_equal(back.reply, m.reply);
    assert_true(back.bound == m.bound);
    assert_non_null(reply_name(back.reply));
  }
  test::assert_rejected(decode_reply, bytes({0x05, 0x09, 0x00, 0x01}), "unknown reply");
  test::assert_rejected(decode_reply, bytes({0x05, 0x00, 0x00, 0x07}), "address type");
}

static void test_udp_header_round_trip(void**) {
  uint8_t v6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  Address dests[] = {Address::ipv6(v6, 5001), *Address::from_domain("dns.example", 53)};
  for (const Address& d : dests) {
    uint8_t hdr[kMaxUdpHeader];
    size_t n = encode_udp_header(d, hdr);
    std::vector<uint8_t> dgram(hdr, hdr + n);
    test::append(dgram, test::bytes("payload"));
    auto p = decode_udp_header(ByteView(dgram));
    assert_true(p.ok());
    assert_int_equal(p.value.fragment, 0);
    assert_true(p.value.address == d);
    assert_true(p.value.payload.as_chars() == "payload");
    // A datagram is whole: every truncation inside the header is an error, never need_more.
    for (size_t k = 0; k < n; ++k) {
      auto t = decode_udp_header(ByteView(dgram.data(), k));
      assert_true(t.failed());
    }
  }
  auto empty_payload = bytes({0, 0, 0, 0x01, 1, 2, 3, 4, 0, 7});
  auto e = decode_udp_header(ByteView(empty_payload));
  assert_true(e.ok());
  assert_int_equal(e.value.payload.size, 0);
}

static void test_udp_header_fragment_and_garbage(void**) {
  auto frag = bytes({0, 0, 3, 0x01, 1, 2, 3, 4, 0, 7, 'x'});
  auto p = decode_udp_header(ByteView(frag));
  assert_true(p.ok());
  assert_int_equal(p.value.fragment, 3);  // parsed; the relay drops and counts it
  test::assert_rejected(decode_udp_header, bytes({0, 1, 0, 0x01, 1, 2, 3, 4, 0, 7}), "reserved");
  test::assert_rejected(decode_udp_header, bytes({0, 0, 0, 0x02, 1, 2, 3, 4, 0, 7}), "address type",
                        0x08);
  test::assert_rejected(decode_udp_header, bytes({0, 0}), "shorter");
}

// The client handshake over any split of what the server says, with the caller dropping
// consumed bytes as the contract says: the same requests go out, the same reply comes back.
static void test_client_handshake_any_split(void**) {
  uint8_t ip[4] = {10, 1, 2, 3};
  Address dest = Address::ipv4(ip, 7001);
  for (bool auth : {false, true}) {
    std::vector<uint8_t> server_says;
    ByteWriter w(server_says);
    encode_method_selection(w, MethodSelection{auth ? method::kUserPass : method::kNoAuth});
    if (auth) encode_user_pass_status(w, UserPassStatus{0});
    uint8_t bnd[4] = {127, 0, 0, 1};
    encode_reply(w, ReplyMessage{Reply::succeeded, Address::ipv4(bnd, 40000)});
    server_says.push_back(0xEE);  // the application's first byte
    for (size_t chunk = 1; chunk <= server_says.size(); ++chunk) {
      ClientHandshake hs(Command::connect, dest, auth ? "u" : "", auth ? "p" : "");
      std::vector<uint8_t> sent = hs.start();
      std::vector<uint8_t> inbox;
      ClientHandshake::Status st = ClientHandshake::Status::need_more;
      size_t fed = 0;
      while (st == ClientHandshake::Status::need_more && fed < server_says.size()) {
        size_t n = std::min(chunk, server_says.size() - fed);
        inbox.insert(inbox.end(), server_says.begin() + fed, server_says.begin() + fed + n);
        fed += n;
        size_t consumed = 0;
        st = hs.feed(ByteView(inbox), sent, consumed);
        inbox.erase(inbox.begin(), inbox.begin() + static_cast<long>(consumed));
      }
      assert_int_equal(st, ClientHandshake::Status::done);
      assert_int_equal(hs.reply().bound.port, 40000);
      inbox.insert(inbox.end(), server_says.begin() + fed, server_says.end());
      assert_true(inbox == bytes({0xEE}));  // left for the application
      // What went out: greeting, [user/pass], request.
      std::vector<uint8_t> want;
      ByteWriter ww(want);
      Greeting g;
      g.methods[g.method_count++] = method::kNoAuth;
      if (auth) g.methods[g.method_count++] = method::kUserPass;
      encode_greeting(ww, g);
      if (auth) encode_user_pass_request(ww, "u", "p");
      encode_request(ww, Request{Command::connect, dest});
      assert_true(sent == want);
    }
  }
}

static void test_client_handshake_failures(void**) {
  uint8_t ip[4] = {10, 1, 2, 3};
  ClientHandshake no_method(Command::connect, Address::ipv4(ip, 1));
  std::vector<uint8_t> out;
  size_t consumed = 0;
  auto st = no_method.feed(ByteView(bytes({0x05, 0xFF})), out, consumed);
  assert_int_equal(st, ClientHandshake::Status::failed);
  assert_non_null(strstr(no_method.error(), "authentication"));
  ClientHandshake refused(Command::connect, Address::ipv4(ip, 1));
  st = refused.feed(ByteView(bytes({0x05, 0x00, 0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0})), out,
                    consumed);
  assert_int_equal(st, ClientHandshake::Status::failed);
  assert_int_equal(refused.reply().reply, Reply::connection_refused);
}

// Reassembly (RFC 1928 §7): in order; a missing fragment waits for the timer; a restart
// abandons; past the byte cap drops; 64 KB from many fragments is whole and exact.
static UdpHeader fragment(uint8_t frag, const std::vector<uint8_t>& data, uint16_t port = 53) {
  UdpHeader h;
  h.fragment = frag;
  h.address = Address::ipv4({192, 0, 2, 1}, port);
  h.payload = ByteView(data);
  return h;
}

static void test_reassembly_in_order(void**) {
  ReassemblyCounters c;
  Reassembler r(65'507, 5'000, c);
  std::vector<uint8_t> a = {1, 2}, b = {3}, z = {4, 5, 6};
  assert_false(r.add(fragment(1, a), 0).complete);
  assert_false(r.add(fragment(2, b, 99), 1).complete);
  auto whole = r.add(fragment(0x83, z), 2);
  assert_true(whole.complete);
  assert_true(whole.payload == ByteView(bytes({1, 2, 3, 4, 5, 6})));
  assert_int_equal(whole.address.port, 53);  // the first fragment's address
  assert_int_equal(c.reassembled, 1);
  // A standalone datagram passes through, untouched by a pending sequence.
  assert_false(r.add(fragment(1, a), 3).complete);
  auto alone = r.add(fragment(0, z), 4);
  assert_true(alone.complete && alone.payload == ByteView(z));
  assert_true(r.pending());
}

static void test_reassembly_missing_fragment_times_out(void**) {
  ReassemblyCounters c;
  Reassembler r(65'507, 5'000, c);
  std::vector<uint8_t> a = {1};
  r.add(fragment(1, a), 1'000);
  r.add(fragment(2, a), 1'100);
  r.expire(5'999);
  assert_true(r.pending());
  r.expire(6'000);
  assert_false(r.pending());
  assert_int_equal(c.timed_out, 1);
  // The last fragment, too late, completes nothing.
  assert_false(r.add(fragment(0x83, a), 6'001).complete);
  assert_int_equal(c.reassembled, 0);
  // A skipped position can never complete: the sequence ends there.
  r.add(fragment(1, a), 7'000);
  assert_false(r.add(fragment(0x83, a), 7'001).complete);
  assert_int_equal(c.abandoned, 1);
}

static void test_reassembly_restart_abandons(void**) {
  ReassemblyCounters c;
  Reassembler r(65'507, 5'000, c);
  std::vector<uint8_t> old = {9, 9}, fresh = {1}, end = {2};
  r.add(fragment(1, old), 0);
  r.add(fragment(2, old), 0);
  assert_false(r.add(fragment(1, fresh), 0).complete);  // lower than the highest: starts over
  assert_int_equal(c.abandoned, 1);
  auto whole = r.add(fragment(0x82, end), 0);
  assert_true(whole.complete && whole.payload == ByteView(bytes({1, 2})));
}

static void test_reassembly_byte_cap(void**) {
  ReassemblyCounters c;
  Reassembler r(1'000, 5'000, c);
  std::vector<uint8_t> chunk(600, 7);
  r.add(fragment(1, chunk), 0);
  assert_false(r.add(fragment(2, chunk), 0).complete);  // 1,200 > 1,000: dropped
  assert_false(r.add(fragment(0x83, chunk), 0).complete);
  assert_int_equal(c.dropped, 2);
  assert_int_equal(c.reassembled, 0);
  assert_true(r.held_bytes() == 0 && !r.pending());
  // The next sequence is fine.
  std::vector<uint8_t> small(10, 1);
  r.add(fragment(1, small), 0);
  assert_true(r.add(fragment(0x82, small), 0).complete);
}

// Reassemblers sharing a budget: what they hold together stays under it (1,000 associations
// each with a 60 KB sequence pending once took udp-local to 196 MB); a sequence that does not
// fit is dropped, and what a reassembler held goes back when its sequence ends or it goes.
static void test_reassembly_shared_budget(void**) {
  ReassemblyCounters c;
  ReassemblyBudget budget;
  budget.limit = 100'000;
  std::vector<uint8_t> piece(20'000, 3);
  std::vector<std::unique_ptr<Reassembler>> many;
  for (int i = 0; i < 10; ++i) {
    many.push_back(std::make_unique<Reassembler>(65'507, 5'000, c, &budget));
    many.back()->add(fragment(1, piece), 0);
    many.back()->add(fragment(2, piece), 0);
  }
  assert_true(budget.held <= budget.limit);
  // The first two hold their two pieces; every later one's second piece did not fit, and a
  // sequence that loses a piece gives back what it held.
  assert_int_equal(budget.held, 80'000);
  assert_int_equal(c.dropped, 8);
  size_t held = 0;
  for (auto& r : many) held += r->held_bytes();
  assert_int_equal(held, budget.held);
  // A completed sequence gives its bytes back.
  auto whole = many[0]->add(fragment(0x83, piece), 1);
  assert_true(whole.complete && whole.payload.size == 60'000);
  many[0]->release();
  assert_int_equal(budget.held, 40'000);
  many[1]->add(fragment(1, piece), 2);  // starts over: its old sequence's bytes go back
  assert_int_equal(budget.held, 20'000);
  many.clear();  // gone: the rest back too
  assert_int_equal(budget.held, 0);
}

static void test_reassembly_64k_from_many_fragments(void**) {
  ReassemblyCounters c;
  Reassembler r(65'507, 5'000, c);
  std::vector<uint8_t> all(65'507);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i * 31 + 7);
  const size_t n = 127, per = (all.size() + n - 1) / n;
  Reassembler::Whole whole;
  for (size_t k = 0; k < n; ++k) {
    size_t from = k * per, to = std::min(all.size(), from + per);
    std::vector<uint8_t> piece(all.begin() + from, all.begin() + to);
    uint8_t frag = static_cast<uint8_t>(k + 1) | (k + 1 == n ? 0x80 : 0);
    whole = r.add(fragment(frag, piece), k);
    assert_int_equal(whole.complete, k + 1 == n);
  }
  assert_true(whole.payload == ByteView(all));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_greeting_round_trip_and_splits),
      cmocka_unit_test(test_greeting_rejects_garbage),
      cmocka_unit_test(test_method_selection),
      cmocka_unit_test(test_user_pass_round_trip),
      cmocka_unit_test(test_user_pass_rejects_garbage),
      cmocka_unit_test(test_requests_for_every_command_and_address),
      cmocka_unit_test(test_request_errors_carry_reply_codes),
      cmocka_unit_test(test_reply_every_code),
      cmocka_unit_test(test_udp_header_round_trip),
      cmocka_unit_test(test_udp_header_fragment_and_garbage),
      cmocka_unit_test(test_reassembly_in_order),
      cmocka_unit_test(test_reassembly_missing_fragment_times_out),
      cmocka_unit_test(test_reassembly_restart_abandons),
      cmocka_unit_test(test_reassembly_byte_cap),
      cmocka_unit_test(test_reassembly_64k_from_many_fragments),
      cmocka_unit_test(test_reassembly_shared_budget),
      cmocka_unit_test(test_client_handshake_any_split),
      cmocka_unit_test(test_client_handshake_failures),
  };
  return cmocka_run_group_tests_name("socks5", tests, nullptr, nullptr);
}
