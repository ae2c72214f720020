// udp-local's SOCKS5 front with a SOCKS5 client written from the RFC: UDP ASSOCIATE through
// the tunnel (IPv4, a name, full-cone replies), authentication, and every refusal.
#include <cstring>

#include "../unit/cmocka_support.hpp"
#include "socks5_test_client.hpp"
#include "tunnel_fixture.hpp"

using harness::EchoServer;
using harness::UdpClient;

static const uint8_t kLoopback[4] = {127, 0, 0, 1};

struct Socks5Fixture : TunnelFixture {
  uint16_t socks_port = harness::free_port(AF_INET, SOCK_STREAM);

  bool start(std::vector<std::string> extra = {}) {
    if (!start_server()) return false;
    std::vector<std::string> args = {
        "--server", harness::endpoint(AF_INET, server_port), "--psk-file",  key_path,
        "--socks5", harness::endpoint(AF_INET, socks_port),  "--log-level", "debug"};
    if (!harness::daemons_are_windows())  // counters for local_counter()
      args.insert(args.end(), {"--stats-fd", "3", "--stats-interval-ms", "100"});
    args.insert(args.end(), extra.begin(), extra.end());
    local = std::make_unique<harness::Process>(harness::udp_local_bin(), args,
                                               dir.path() + "/local.log");
    local_stats = dir.path() + "/local.stats";
    local->set_fd3_path(local_stats);
    if (!local->start()) return false;
    return socks5_front_up(socks_port);
  }
};

// Sends through the relay until an answer comes whose payload is `expect`; returns the
// SOCKS5 header's source port of that answer (0 if none).
static uint16_t udp_round_trip(UdpClient& udp, const sockaddr_in& relay,
                               const std::vector<uint8_t>& dgram, const std::string& expect,
                               int timeout_ms = 5000) {
  sockaddr_storage to{};
  std::memcpy(&to, &relay, sizeof relay);
  uint16_t got = 0;
  harness::eventually(
      [&] {
        udp.send_to(to, dgram.data(), dgram.size());
        std::vector<uint8_t> buf(70'000);
        for (int i = 0; i < 4; ++i) {
          ssize_t n = udp.receive(buf.data(), buf.size(), 100);
          if (n < 10) return false;
          std::string payload(reinterpret_cast<char*>(buf.data()) + 10,
                              static_cast<size_t>(n) - 10);
          if (buf[3] == 0x01 && payload == expect) {
            got = static_cast<uint16_t>(buf[8] << 8 | buf[9]);
            return true;
          }
        }
        return false;
      },
      timeout_ms);
  return got;
}

// A UDP ASSOCIATE on the front: its control connection, the app's UDP socket and the relay
// address; datagrams (or fragments) sent through it, replies read back.
struct Association {
  Socks5TestClient control;
  UdpClient udp;
  sockaddr_in relay{};
  sockaddr_storage to{};
  bool open(uint16_t socks_port) {
    if (!control.connect_to(socks_port) || control.greet({0x00}) != 0x00) return false;
    uint8_t any[4] = {0, 0, 0, 0};
    if (control.request(0x03, any, 0, &relay) != 0x00) return false;
    std::memcpy(&to, &relay, sizeof relay);
    return true;
  }
  // Associated, and a whole datagram echoed through the tunnel (which may still be coming up),
  // its replies read: what follows starts from a clean slate.
  bool ready(uint16_t socks_port, uint16_t target_port) {
    if (!open(socks_port) ||
        udp_round_trip(udp, relay, socks5_udp_datagram(kLoopback, target_port, "up"), "up") == 0)
      return false;
    while (!reply(100).empty()) {
    }
    return true;
  }
  void send(uint16_t port, const std::string& piece, uint8_t frag) {
    auto d = socks5_udp_datagram(kLoopback, port, piece, frag);
    udp.send_to(to, d.data(), d.size());
  }
  // The next reply's payload within timeout_ms ("" if none).
  std::string reply(int timeout_ms) {
    std::vector<uint8_t> buf(70'000);
    ssize_t n = udp.receive(buf.data(), buf.size(), timeout_ms);
    if (n < 10) return "";
    return std::string(reinterpret_cast<char*>(buf.data()) + 10, static_cast<size_t>(n) - 10);
  }
};

static void test_udp_associate_round_trip(void**) {
  EchoServer target;
  Socks5Fixture fx;
  REQUIRE(fx.start(), fx);
  Socks5TestClient c;
  REQUIRE(c.connect_to(fx.socks_port), fx);
  REQUIRE(c.greet({0x00}) == 0x00, fx);
  UdpClient udp;
  sockaddr_in relay;
  uint8_t any[4] = {0, 0, 0, 0};
  REQUIRE(c.request(0x03, any, 0, &relay) == 0x00, fx);
  auto d = socks5_udp_datagram(kLoopback, target.port(), "via socks5");
  uint16_t from = udp_round_trip(udp, relay, d, "via socks5");
  REQUIRE(from == target.port(), fx);  // the reply names the target as its source
}

static void test_udp_associate_domain_destination(void**) {
  EchoServer target;
  Socks5Fixture fx;
  REQUIRE(fx.start(), fx);
  Association a;
  REQUIRE(a.open(fx.socks_port), fx);
  UdpClient& udp = a.udp;
  const sockaddr_in& relay = a.relay;
  std::string name = "localhost";
  std::vector<uint8_t> d = {0, 0, 0, 0x03, static_cast<uint8_t>(name.size())};
  for (char ch : name) d.push_back(static_cast<uint8_t>(ch));
  d.push_back(static_cast<uint8_t>(target.port() >> 8));
  d.push_back(static_cast<uint8_t>(target.port()));
  std::string payload = "to a name";
  for (char ch : payload) d.push_back(static_cast<uint8_t>(ch));
  REQUIRE(udp_round_trip(udp, relay, d, payload) == target.port(), fx);
}

static void test_udp_associate_ipv6_destination(void**) {
  EchoServer target(AF_INET6);
  Socks5Fixture fx;
  REQUIRE(fx.start(), fx);
  Association a;
  REQUIRE(a.open(fx.socks_port), fx);
  UdpClient& udp = a.udp;
  const sockaddr_in& relay = a.relay;
  // RSV RSV FRAG ATYP=4 ::1 PORT DATA; the reply comes back with an IPv6 header too.
  std::vector<uint8_t> d = {0, 0, 0, 0x04};
  for (int i = 0; i < 15; ++i) d.push_back(0);
  d.push_back(1);
  d.push_back(static_cast<uint8_t>(target.port() >> 8));
  d.push_back(static_cast<uint8_t>(target.port()));
  std::string payload = "to ::1";
  for (char ch : payload) d.push_back(static_cast<uint8_t>(ch));
  sockaddr_storage to{};
  std::memcpy(&to, &relay, sizeof relay);
  bool ok = harness::eventually(
      [&] {
        udp.send_to(to, d.data(), d.size());
        std::vector<uint8_t> buf(2048);
        ssize_t n = udp.receive(buf.data(), buf.size(), 200);
        return n == static_cast<ssize_t>(d.size()) && buf[3] == 0x04 && buf[19] == 1 &&
               std::memcmp(buf.data() + 22, payload.data(), payload.size()) == 0;
      },
      5000);
  REQUIRE(ok, fx);
}

static void test_full_cone_reply_from_second_port(void**) {
  EchoServer target(AF_INET, /*also_reply_from_second_port=*/true);
  Socks5Fixture fx;
  REQUIRE(fx.start(), fx);
  Association a;
  REQUIRE(a.open(fx.socks_port), fx);
  UdpClient& udp = a.udp;
  const sockaddr_in& relay = a.relay;
  auto d = socks5_udp_datagram(kLoopback, target.port(), "cone");
  // The copy the target sent from its other port arrives, labelled with that port.
  uint16_t from = udp_round_trip(udp, relay, d, "second:cone");
  REQUIRE(from == target.second_port(), fx);
}

static void test_username_password(void**) {
  EchoServer target;
  Socks5Fixture fx;
  REQUIRE(fx.start({"--socks5-username", "alice", "--socks5-password", "wonderland"}), fx);
  {
    Socks5TestClient wrong;
    REQUIRE(wrong.connect_to(fx.socks_port), fx);
    REQUIRE(wrong.greet({0x00, 0x02}) == 0x02, fx);
    REQUIRE(wrong.authenticate("alice", "looking-glass") == 0x01, fx);
    REQUIRE(wrong.closed_by_peer(), fx);
  }
  {
    Socks5TestClient noauth;
    REQUIRE(noauth.connect_to(fx.socks_port), fx);
    REQUIRE(noauth.greet({0x00}) == 0xFF, fx);  // no acceptable method
  }
  Socks5TestClient c;
  REQUIRE(c.connect_to(fx.socks_port) && c.greet({0x02}) == 0x02, fx);
  REQUIRE(c.authenticate("alice", "wonderland") == 0x00, fx);
  UdpClient udp;
  sockaddr_in relay;
  uint8_t any[4] = {0, 0, 0, 0};
  REQUIRE(c.request(0x03, any, 0, &relay) == 0x00, fx);
  REQUIRE(udp_round_trip(udp, relay, socks5_udp_datagram(kLoopback, target.port(), "authed"),
                         "authed") != 0,
          fx);
}

static void test_refusals(void**) {
  Socks5Fixture fx;
  REQUIRE(fx.start(), fx);
  uint8_t any[4] = {0, 0, 0, 0};
  {
    Socks5TestClient c;  // CONNECT without an upstream: command not supported
    REQUIRE(c.connect_to(fx.socks_port) && c.greet({0x00}) == 0x00, fx);
    REQUIRE(c.request(0x01, kLoopback, 80) == 0x07, fx);
  }
  {
    Socks5TestClient c;  // BIND: command not supported
    REQUIRE(c.connect_to(fx.socks_port) && c.greet({0x00}) == 0x00, fx);
    REQUIRE(c.request(0x02, any, 0) == 0x07, fx);
  }
  {
    Socks5TestClient c;  // unknown address type: 0x08
    REQUIRE(c.connect_to(fx.socks_port) && c.greet({0x00}) == 0x00, fx);
    std::vector<uint8_t> r;
    REQUIRE(c.send_bytes({0x05, 0x03, 0x00, 0x02, 1, 2, 3, 4, 0, 0}) && c.read_exact(r, 2), fx);
    REQUIRE(r[1] == 0x08, fx);
  }
  {
    Socks5TestClient c;  // not SOCKS5 at all: closed
    REQUIRE(c.connect_to(fx.socks_port), fx);
    REQUIRE(c.send_bytes({'G', 'E', 'T', ' ', '/'}), fx);
    REQUIRE(c.closed_by_peer(), fx);
  }
  {
    Socks5TestClient c;  // truncated greeting, then the client leaves: the front goes on
    REQUIRE(c.connect_to(fx.socks_port), fx);
    REQUIRE(c.send_bytes({0x05, 0x03, 0x00}), fx);
  }
  Socks5TestClient c;
  REQUIRE(c.connect_to(fx.socks_port) && c.greet({0x00}) == 0x00, fx);
  REQUIRE(c.request(0x03, any, 0) == 0x00, fx);
}

static void test_foreign_datagrams_dropped(void**) {
  EchoServer target;
  Socks5Fixture fx;
  REQUIRE(fx.start(), fx);
  Socks5TestClient c;
  REQUIRE(c.connect_to(fx.socks_port) && c.greet({0x00}) == 0x00, fx);
  UdpClient udp;
  sockaddr_in relay;
  // The client names its UDP port: only that port may use the relay.
  sockaddr_storage mine;
  socklen_t len = sizeof mine;
  getsockname(udp.fd(), reinterpret_cast<sockaddr*>(&mine), &len);
  uint16_t my_port = ntohs(reinterpret_cast<sockaddr_in*>(&mine)->sin_port);
  REQUIRE(c.request(0x03, kLoopback, my_port, &relay) == 0x00, fx);
  sockaddr_storage to{};
  std::memcpy(&to, &relay, sizeof relay);
  UdpClient stranger;
  auto d = socks5_udp_datagram(kLoopback, target.port(), "stranger");
  for (int i = 0; i < 5; ++i) stranger.send_to(to, d.data(), d.size());
  REQUIRE(udp_round_trip(udp, relay, socks5_udp_datagram(kLoopback, target.port(), "legit"),
                         "legit") != 0,
          fx);
  REQUIRE(fx.local_counter_reaches("drops_socks5_foreign", 5, 3000), fx);
  // Only the legitimate datagrams reached the target.
  uint64_t before = target.received();
  for (int i = 0; i < 5; ++i) stranger.send_to(to, d.data(), d.size());
  REQUIRE(fx.local_counter_reaches("drops_socks5_foreign", 10, 3000), fx);
  REQUIRE(target.received() == before, fx);
}

// RFC 1928 §7 fragments, reassembled on the front: what reaches the target (and so what the
// echo sends back, whole) is exactly the reassembled datagram, and nothing of sequences that
// were abandoned, timed out or too large.
static void test_fragments_reassembled(void**) {
  EchoServer target;
  Socks5Fixture fx;
  REQUIRE(fx.start(), fx);
  Association f;
  REQUIRE(f.ready(fx.socks_port, target.port()), fx);
  uint64_t before = target.received();
  // In order.
  f.send(target.port(), "ab", 1);
  f.send(target.port(), "cd", 2);
  f.send(target.port(), "ef", 0x83);
  REQUIRE(f.reply(3000) == "abcdef", fx);
  // Abandoned: a sequence restarts at position 1 before its end; only the new one arrives.
  f.send(target.port(), "XX", 1);
  f.send(target.port(), "YY", 2);
  f.send(target.port(), "gh", 1);
  f.send(target.port(), "ij", 0x82);
  REQUIRE(f.reply(3000) == "ghij", fx);
  // A skipped position: never whole, nothing arrives; then a standalone one does.
  f.send(target.port(), "k", 1);
  f.send(target.port(), "m", 0x83);
  f.send(target.port(), "alone", 0);
  REQUIRE(f.reply(3000) == "alone", fx);
  // 64,000 bytes from 125 fragments of 512, content checked end to end.
  std::string big(64'000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7) % 26);
  for (size_t k = 0; k < 125; ++k) {
    f.send(target.port(), big.substr(k * 512, 512),
           static_cast<uint8_t>((k + 1) | (k == 124 ? 0x80 : 0)));
    if (k % 16 == 15) usleep(1'000);  // a real sender paces; loopback buffers are finite
  }
  REQUIRE(f.reply(5000) == big, fx);
  // Whatever came before the big one reached the target before it (one flow, in order).
  REQUIRE(target.received() == before + 4, fx);  // abcdef, ghij, alone, the big one
}

static void test_fragments_timer_and_byte_cap(void**) {
  EchoServer target;
  Socks5Fixture fx;
  REQUIRE(fx.start({"--socks5-reassembly-max-bytes", "1000"}), fx);
  Association f;
  REQUIRE(f.ready(fx.socks_port, target.port()), fx);
  uint64_t before = target.received();
  // Past the byte cap: 600 + 600 > 1,000, dropped; the next sequence is fine.
  std::string chunk(600, 'z');
  f.send(target.port(), chunk, 1);
  f.send(target.port(), chunk, 0x82);
  f.send(target.port(), "small", 1);
  f.send(target.port(), "er", 0x82);
  REQUIRE(f.reply(3000) == "smaller", fx);
  // A missing last fragment: the timer (5 s, the RFC's least) gives the sequence up, so the
  // last one arriving after it completes nothing.
  f.send(target.port(), "late", 1);
  f.send(target.port(), "r", 2);
  // The timer, plus the front's 1 s sweep.
  REQUIRE(
      harness::eventually(
          [&] { return fx.local->log().find("a sequence not whole in time") != std::string::npos; },
          8000),
      fx);
  f.send(target.port(), "!", 0x83);
  f.send(target.port(), "after", 0);
  REQUIRE(f.reply(3000) == "after", fx);
  // "!" came before "after" on the same flow: had it completed something, that came first.
  REQUIRE(target.received() == before + 2, fx);  // "smaller" and "after"
}

static void test_association_dies_with_control_connection(void**) {
  EchoServer target;
  Socks5Fixture fx;
  REQUIRE(fx.start(), fx);
  UdpClient udp;
  sockaddr_in relay;
  {
    Socks5TestClient c;
    REQUIRE(c.connect_to(fx.socks_port) && c.greet({0x00}) == 0x00, fx);
    uint8_t any[4] = {0, 0, 0, 0};
    REQUIRE(c.request(0x03, any, 0, &relay) == 0x00, fx);
    REQUIRE(udp_round_trip(udp, relay, socks5_udp_datagram(kLoopback, target.port(), "alive"),
                           "alive") != 0,
            fx);
  }  // the control connection closes here
  REQUIRE(harness::eventually(
              [&] { return fx.local->log().find("SOCKS5 connection ends") != std::string::npos; },
              3000),
          fx);
  uint64_t before = target.received();
  sockaddr_storage to{};
  std::memcpy(&to, &relay, sizeof relay);
  auto d = socks5_udp_datagram(kLoopback, target.port(), "after close");
  for (int i = 0; i < 5; ++i) udp.send_to(to, d.data(), d.size());
  REQUIRE(fx.local_counters_current() && fx.server_counters_current(), fx);
  REQUIRE(target.received() == before, fx);
}

// Many associations, each with a fragment sequence that never ends (security round 2: 1,000
// of them with 64 KB each took udp-local from 5.6 to 196 MB): what they hold together stays
// under --socks5-reassembly-total-bytes, the rest is dropped and counted, and a whole
// datagram still gets through.
static void test_pending_fragments_share_one_budget(void**) {
  if (harness::daemons_are_windows()) {
    harness::report_skip("RSS of a Windows process under Wine");
    skip();
  }
  EchoServer target;
  Socks5Fixture fx;
  REQUIRE(fx.start({"--socks5-reassembly-total-bytes", "2097152"}), fx);
  long rss_before = harness::resident_kib(fx.local->pid());
  std::vector<std::unique_ptr<Association>> senders;
  const std::string piece(1'000, 'f');
  for (int a = 0; a < 200; ++a) {
    auto f = std::make_unique<Association>();
    if (!f->open(fx.socks_port)) break;
    for (uint8_t k = 1; k <= 60; ++k) {  // 60 KB, never the last fragment
      f->send(target.port(), piece, k);
      if (k % 20 == 0) usleep(500);
    }
    senders.push_back(std::move(f));
  }
  REQUIRE(senders.size() == 200, fx);
  REQUIRE(fx.local_counters_current(), fx);  // it has read them
  long rss_after = harness::resident_kib(fx.local->pid());
  std::printf("    200 associations x 60 KB pending: udp-local RSS %ld -> %ld KiB\n", rss_before,
              rss_after);
  // 2 MiB of fragments at most, plus 200 associations' own state.
  REQUIRE(rss_after < rss_before + 8 * 1024 + harness::sanitizer_slack_kib(), fx);
  // A whole datagram on one of them still goes through.
  REQUIRE(udp_round_trip(senders.back()->udp, senders.back()->relay,
                         socks5_udp_datagram(kLoopback, target.port(), "whole"), "whole") != 0,
          fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_udp_associate_round_trip),
      cmocka_unit_test(test_udp_associate_domain_destination),
      cmocka_unit_test(test_udp_associate_ipv6_destination),
      cmocka_unit_test(test_full_cone_reply_from_second_port),
      cmocka_unit_test(test_username_password),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_foreign_datagrams_dropped),
      cmocka_unit_test(test_fragments_reassembled),
      cmocka_unit_test(test_fragments_timer_and_byte_cap),
      cmocka_unit_test(test_pending_fragments_share_one_budget),
      cmocka_unit_test(test_association_dies_with_control_connection),
  };
  return cmocka_run_group_tests_name("socks5_front", tests, nullptr, nullptr);
}
