// Hostile or broken peers against udp-server's frames and flows: a wrong key, random bytes,
// slowloris, a flood of flows, a frame claiming a huge length, a peer that never reads,
// re-opens of one flow, a SOCKS5 egress that never answers, replayed hellos, datagrams injected
// at the egress association (fake SOCKS5 servers: fake_socks5.hpp), the total flow cap, control
// bytes meant for the log. Each must cost only its own connection, within stated bounds
// (memory, descriptors, log lines); a good client keeps being served throughout.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <random>
#include <thread>

#include "../unit/cmocka_support.hpp"
#include "fake_socks5.hpp"
#include "hostile_fixture.hpp"
#include "udptun/protocol/frame.hpp"

using namespace hostile;

// Writes `bytes` (non-blocking) again and again for `seconds`, never reading: returns how
// many bytes the server took.
static size_t write_without_reading(int fd, const std::vector<uint8_t>& bytes, double seconds) {
  fcntl(fd, F_SETFL, O_NONBLOCK);
  size_t taken = 0, off = 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    ssize_t n = write(fd, bytes.data() + off, bytes.size() - off);
    if (n > 0) {
      taken += static_cast<size_t>(n);
      off = (off + static_cast<size_t>(n)) % bytes.size();
    } else {
      usleep(2000);
    }
  }
  return taken;
}

static void test_wrong_key_is_refused_and_nothing_passes(void**) {
  GoodClient good;
  REQUIRE(good.start(), good.fx);
  EchoServer other_target;
  std::string wrong_key = good.fx.dir.write("wrong", "not the key, but long enough\n");
  uint16_t port = harness::free_port();
  harness::Process intruder(
      harness::udp_local_bin(),
      {"--server", harness::endpoint(AF_INET, good.fx.server_port), "--psk-file", wrong_key,
       "--forward",
       harness::endpoint(AF_INET, port) + "=" + harness::endpoint(AF_INET, other_target.port())},
      good.fx.dir.path() + "/intruder.log");
  assert_true(intruder.start());
  UdpClient c;
  for (int i = 0; i < 20; ++i) {
    c.send_to(harness::loopback(AF_INET, port), "let me in", 9);
    usleep(50'000);
  }
  assert_int_equal(other_target.received(), 0);
  REQUIRE(good.still_served("after the intruder"), good.fx);
  // The raw handshake with a wrong key is answered with a refusal, then the connection closes.
  ServerHello reply;
  int fd = authenticated(good.fx.server_port, "definitely the wrong key here", &reply);
  assert_int_equal(fd, -1);
}

static void test_random_bytes_close_only_that_connection(void**) {
  GoodClient good;
  REQUIRE(good.start(), good.fx);
  std::mt19937 rng(1234);
  for (int i = 0; i < 20; ++i) {
    int fd = tcp_connect(good.fx.server_port);
    std::vector<uint8_t> junk(1 + rng() % 4000);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    (void)!write(fd, junk.data(), junk.size());
    REQUIRE(closed_within(fd, 3000), good.fx);
    close(fd);
  }
  REQUIRE(good.still_served("after junk"), good.fx);
}

static void test_slowloris_is_cut_off(void**) {
  GoodClient good;
  REQUIRE(good.start({"--handshake-timeout-ms", "500"}), good.fx);
  std::vector<int> slow;
  for (int i = 0; i < 50; ++i) {
    int fd = tcp_connect(good.fx.server_port);
    (void)!write(fd, "U", 1);  // a valid first byte, then nothing
    slow.push_back(fd);
  }
  REQUIRE(good.still_served("during slowloris"), good.fx);
  for (int fd : slow) {
    REQUIRE(closed_within(fd, 3000), good.fx);
    close(fd);
  }
  REQUIRE(good.still_served("after slowloris"), good.fx);
}

static void test_flood_of_flows_is_capped(void**) {
  GoodClient good;
  REQUIRE(good.start({"--max-flows-per-session", "1000", "--flow-opens-per-second", "1000"}),
          good.fx);
  std::string key_text = good.fx.server->log().empty() ? "" : "";
  int fd = authenticated(good.fx.server_port, "test key: correct horse battery staple\n");
  REQUIRE(fd >= 0, good.fx);
  uint8_t ip[4] = {127, 0, 0, 1};
  std::vector<uint8_t> frames;
  for (uint32_t id = 1; id <= 10'000; ++id) {
    append_frame(frames, OpenFlow{id, Address::ipv4(ip, good.target.port()), false, {}});
  }
  size_t off = 0;
  fcntl(fd, F_SETFL, O_NONBLOCK);
  char sink[65536];
  auto started = std::chrono::steady_clock::now();
  while (off < frames.size()) {
    ssize_t n = write(fd, frames.data() + off, frames.size() - off);
    if (n > 0) off += static_cast<size_t>(n);
    while (read(fd, sink, sizeof sink) > 0) {
    }
    if (n <= 0) usleep(1000);
  }
  REQUIRE(good.still_served("during the flood"), good.fx);
  // Every open was answered; past the burst, only as many opened as the rate allows over the
  // time the flood took (on a loaded machine that is longer, so more open: count, not guess).
  auto count = [&](const std::string& what) {
    std::string log = good.fx.server->log();
    int n = 0;
    for (size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
    return n;
  };
  REQUIRE(
      harness::eventually(
          [&] { return count("flow 10000 refused") + count("flow 10000 open to") == 1; }, 10000),
      good.fx);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  int refused = count("refused: opening flows too fast");
  int opened = 10'000 - refused;
  std::printf("    flood of 10000 OPEN_FLOW in %.2f s: %d opened, %d refused for the rate\n",
              seconds, opened, refused);
  REQUIRE(refused > 0, good.fx);
  REQUIRE(opened <= 1000 + static_cast<int>(1000 * (seconds + 1)), good.fx);
  close(fd);
  REQUIRE(good.still_served("after the flood"), good.fx);
}

static void test_huge_frame_length_closes_connection(void**) {
  GoodClient good;
  REQUIRE(good.start(), good.fx);
  int fd = authenticated(good.fx.server_port, "test key: correct horse battery staple\n");
  REQUIRE(fd >= 0, good.fx);
  uint8_t hdr[6] = {0x02, 0x00, 0x7F, 0xFF, 0xFF, 0xFF};
  (void)!write(fd, hdr, sizeof hdr);
  REQUIRE(closed_within(fd, 3000), good.fx);
  close(fd);
  REQUIRE(good.still_served("after a huge length"), good.fx);
  REQUIRE(good.fx.server->log().find("frame length over the maximum") != std::string::npos,
          good.fx);
}

// A peer that sends PINGs (and re-opens one flow) as fast as it can and never reads the
// answers: the server stops reading it once its replies pass the queue's cap, so its memory
// stays bounded; the good client is served all along.
static void test_peer_that_never_reads_stays_bounded(void**) {
  GoodClient good;
  REQUIRE(good.start({"--max-queued-bytes", "65536"}), good.fx);
  pid_t server = good.fx.server->pid();
  long rss_before = harness::resident_kib(server);
  int pinger = authenticated(good.fx.server_port, kKey);
  int reopener = authenticated(good.fx.server_port, kKey);
  REQUIRE(pinger >= 0 && reopener >= 0, good.fx);
  std::vector<uint8_t> pings, reopens;
  for (int i = 0; i < 4096; ++i) append_frame(pings, Ping{static_cast<uint64_t>(i)});
  uint8_t ip[4] = {127, 0, 0, 1};
  for (int i = 0; i < 4096; ++i)
    append_frame(reopens, OpenFlow{7, Address::ipv4(ip, good.target.port()), false, {}});
  std::thread t([&] { write_without_reading(reopener, reopens, 3.0); });
  size_t pinged = write_without_reading(pinger, pings, 3.0);
  t.join();
  long rss_after = harness::resident_kib(server);
  std::printf("    never-reading peers: %zu bytes of PINGs taken; udp-server RSS %ld -> %ld KiB\n",
              pinged, rss_before, rss_after);
  REQUIRE(rss_after < rss_before + 16 * 1024 + harness::sanitizer_slack_kib(), good.fx);
  REQUIRE(good.still_served("beside peers that never read"), good.fx);
  REQUIRE(harness::eventually([&] { return good.fx.server_counter("links_paused") >= 1; }, 3000),
          good.fx);
  REQUIRE(harness::eventually([&] { return good.fx.server_counter("drops_duplicate_open") > 1000; },
                              3000),
          good.fx);
  close(pinger);
  close(reopener);
  REQUIRE(good.still_served("after them"), good.fx);
}

// Flows whose SOCKS5 association never comes hold their datagrams only within the session's
// budget, and are given up after the setup timeout: memory bounded, then freed.
static void test_held_datagrams_are_bounded(void**) {
  SilentSocks5 silent;
  TunnelFixture fx;
  REQUIRE(fx.start_server({"--egress", "socks5", "--egress-socks5",
                           harness::endpoint(AF_INET, silent.port), "--flow-setup-timeout-ms",
                           "1500", "--flow-opens-per-second", "100000",
                           "--max-held-bytes-per-session", "262144"}),
          fx);
  REQUIRE(harness::eventually([&] { return fx.server_counter("flows") == 0; }, 3000), fx);
  long rss_before = harness::resident_kib(fx.server->pid());
  int fd = authenticated(fx.server_port, kKey);
  REQUIRE(fd >= 0, fx);
  uint8_t ip[4] = {127, 0, 0, 1};
  const int flows = 300;
  std::vector<uint8_t> opens;
  for (uint32_t id = 1; id <= flows; ++id)
    append_frame(opens, OpenFlow{id, Address::ipv4(ip, 9), false, {}});
  (void)!write(fd, opens.data(), opens.size());
  // 8 datagrams of 32 KiB per flow: 75 MiB offered, 256 KiB may be held.
  std::vector<uint8_t> payload(32 * 1024, 'h');
  std::vector<uint8_t> burst;
  for (uint32_t id = 1; id <= flows; ++id) {
    burst.clear();
    for (int i = 0; i < 8; ++i) {
      Data d;
      d.flow_id = id;
      d.payload = ByteView(payload);
      append_frame(burst, d);
    }
    size_t off = 0;
    while (off < burst.size()) {
      ssize_t n = write(fd, burst.data() + off, burst.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
  }
  long rss_during = harness::resident_kib(fx.server->pid());
  REQUIRE(harness::eventually([&] { return fx.server_counter("drops_held") > 1000; }, 5000), fx);
  // Given up after the setup timeout, their held datagrams freed.
  REQUIRE(
      harness::eventually([&] { return fx.server_counter("flows_setup_timeout") >= flows; }, 8000),
      fx);
  REQUIRE(harness::eventually([&] { return fx.server_counter("flows") == 0; }, 3000), fx);
  std::printf(
      "    %d flows never associated: udp-server RSS %ld -> %ld KiB, %.0f datagrams "
      "dropped over the held budget\n",
      flows, rss_before, rss_during, fx.server_counter("drops_held"));
  REQUIRE(rss_during < rss_before + 24 * 1024 + harness::sanitizer_slack_kib(), fx);
  close(fd);
}

// A hello recorded off the wire is refused on any other connection: at the same server, after
// it restarted, and at another server with the same key. Nothing sent behind it gets through.
static void test_replayed_hello_is_refused_everywhere(void**) {
  TunnelFixture fx;
  EchoServer target;
  REQUIRE(fx.start_server(), fx);
  PreSharedKey key = key_of(kKey);
  int first = -1;
  REQUIRE(harness::eventually([&] { return (first = tcp_connect(fx.server_port)) >= 0; }, 3000),
          fx);
  Challenge challenge;
  REQUIRE(read_challenge(first, challenge), fx);
  ClientHello recorded;
  auto wire = hello_for(key, challenge, &recorded);
  REQUIRE(finish_handshake(first, key, recorded.mac, wire, nullptr) >= 0, fx);
  close(first);
  // Behind the replayed hello: a flow to the target and a datagram.
  uint8_t ip[4] = {127, 0, 0, 1};
  std::vector<uint8_t> behind;
  append_frame(behind, OpenFlow{1, Address::ipv4(ip, target.port()), false, {}});
  Data d;
  d.flow_id = 1;
  std::string text = "replayed";
  d.payload = ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  append_frame(behind, d);
  auto replay = [&](uint16_t port) {
    int fd = tcp_connect(port);
    Challenge fresh;
    if (fd < 0 || !read_challenge(fd, fresh)) return std::string("no challenge");
    std::vector<uint8_t> all(wire.begin(), wire.end());
    all.insert(all.end(), behind.begin(), behind.end());
    (void)!write(fd, all.data(), all.size());
    uint8_t resp[kServerHelloSize];
    std::string result = "no answer";
    if (read_exact(fd, resp, sizeof resp)) {
      auto p = decode_server_hello(ByteView(resp, sizeof resp));
      result = !p.ok()                                  ? "garbage"
               : p.value.status == HelloStatus::refused ? refuse_reason_name(p.value.reason)
                                                        : "ACCEPTED";
    }
    close(fd);
    return result;
  };
  std::string same = replay(fx.server_port);
  fx.server->kill9();
  REQUIRE(fx.start_server(), fx);
  std::string restarted;
  REQUIRE(harness::eventually(
              [&] { return (restarted = replay(fx.server_port)) != "no challenge"; }, 3000),
          fx);
  TunnelFixture other;  // a second server with the same key (the fixture's key text)
  REQUIRE(other.start_server(), other);
  std::string elsewhere;
  REQUIRE(harness::eventually(
              [&] { return (elsewhere = replay(other.server_port)) != "no challenge"; }, 3000),
          other);
  std::printf("    replayed hello: same server '%s', after a restart '%s', another server '%s'\n",
              same.c_str(), restarted.c_str(), elsewhere.c_str());
  const std::string refused = refuse_reason_name(RefuseReason::bad_mac);
  REQUIRE(same == refused && restarted == refused && elsewhere == refused, fx);
  REQUIRE(fx.server_counters_current(), fx);
  assert_int_equal(target.received(), 0);
}

// Through a SOCKS5 egress, only the relay's datagrams count as replies: a datagram anyone
// else sends to the association's port (posing as the target) never reaches the client.
static void test_injected_relay_datagrams_are_dropped(void**) {
  EchoingSocks5 socks;
  EchoServer unused;  // the target's address: the relay answers in its name
  TunnelFixture fx;
  REQUIRE(fx.start_server(
              {"--egress", "socks5", "--egress-socks5", harness::endpoint(AF_INET, socks.port)}),
          fx);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, unused.port())), fx);
  UdpClient app;
  REQUIRE(fx.echo_eventually(app, "through the relay", 5000), fx);
  REQUIRE(socks.association_port != 0, fx);
  // An injected "reply": a well-formed SOCKS5 UDP datagram from the target's address.
  uint8_t injected[64] = {0,
                          0,
                          0,
                          1,
                          127,
                          0,
                          0,
                          1,
                          static_cast<uint8_t>(unused.port() >> 8),
                          static_cast<uint8_t>(unused.port())};
  std::memcpy(injected + 10, "INJECTED", 8);
  int attacker = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_storage to = harness::loopback(AF_INET, socks.association_port);
  for (int i = 0; i < 20; ++i)
    sendto(attacker, injected, 18, 0, reinterpret_cast<sockaddr*>(&to), sizeof(sockaddr_in));
  close(attacker);
  char buf[256];
  ssize_t n = app.receive(buf, sizeof buf, 500);
  REQUIRE(n < 0, fx);  // nothing came
  REQUIRE(
      harness::eventually([&] { return fx.server_counter("drops_not_from_relay") >= 20; }, 3000),
      fx);
  REQUIRE(app.echo(fx.front(), "still through the relay", 2000), fx);
}

// Past the server's total of flows, new flows are refused and counted; flows that exist go
// on, and new sessions are still accepted.
static void test_total_flow_cap(void**) {
  GoodClient good;
  REQUIRE(good.start({"--max-total-flows", "20"}), good.fx);
  int fd = authenticated(good.fx.server_port, kKey);
  REQUIRE(fd >= 0, good.fx);
  uint8_t ip[4] = {127, 0, 0, 1};
  std::vector<uint8_t> opens;
  for (uint32_t id = 1; id <= 30; ++id)
    append_frame(opens, OpenFlow{id, Address::ipv4(ip, good.target.port()), false, {}});
  (void)!write(fd, opens.data(), opens.size());
  // 1 flow of the good client + 30 asked for, 20 in all: 11 refused.
  REQUIRE(
      harness::eventually([&] { return good.fx.server_counter("flows_refused_full") == 11; }, 3000),
      good.fx);
  // The two sessions may be on different workers, whose counters are summed as each last
  // published them: the total is right within a stats interval.
  REQUIRE(harness::eventually([&] { return good.fx.server_counter("flows") == 20; }, 3000),
          good.fx);
  REQUIRE(good.still_served("at the flow cap"), good.fx);
  int another = authenticated(good.fx.server_port, kKey);
  REQUIRE(another >= 0, good.fx);
  close(another);
  close(fd);
}

// Text a peer sends for the log (a GOAWAY message) arrives there with its control bytes
// escaped: no terminal escape sequence reaches an operator's screen.
static void test_peer_text_is_escaped_in_the_log(void**) {
  GoodClient good;
  REQUIRE(good.start(), good.fx);
  int fd = authenticated(good.fx.server_port, kKey);
  REQUIRE(fd >= 0, good.fx);
  std::string evil = "bye\x1b[2J\x1b]0;owned\x07\r\nFAKE LOG LINE";
  GoAway g;
  g.message = ByteView(reinterpret_cast<const uint8_t*>(evil.data()), evil.size());
  std::vector<uint8_t> out;
  append_frame(out, g);
  (void)!write(fd, out.data(), out.size());
  REQUIRE(harness::eventually(
              [&] { return good.fx.server->log().find("bye\\x1b[2J") != std::string::npos; }, 3000),
          good.fx);
  std::string log = good.fx.server->log();
  REQUIRE(log.find('\x1b') == std::string::npos && log.find('\x07') == std::string::npos, good.fx);
  REQUIRE(log.find("\nFAKE LOG LINE") == std::string::npos, good.fx);
  close(fd);
}

int main(void) {
  harness::bound_sanitizer_quarantine();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wrong_key_is_refused_and_nothing_passes),
      cmocka_unit_test(test_random_bytes_close_only_that_connection),
      cmocka_unit_test(test_slowloris_is_cut_off),
      cmocka_unit_test(test_flood_of_flows_is_capped),
      cmocka_unit_test(test_huge_frame_length_closes_connection),
      cmocka_unit_test(test_peer_that_never_reads_stays_bounded),
      cmocka_unit_test(test_held_datagrams_are_bounded),
      cmocka_unit_test(test_replayed_hello_is_refused_everywhere),
      cmocka_unit_test(test_injected_relay_datagrams_are_dropped),
      cmocka_unit_test(test_total_flow_cap),
      cmocka_unit_test(test_peer_text_is_escaped_in_the_log),
  };
  return cmocka_run_group_tests_name("hostile_peers", tests, nullptr, nullptr);
}
