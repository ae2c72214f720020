// Hostile or broken peers against udp-server: a wrong key, random bytes, slowloris, a flood
// of flows, a frame claiming a huge length. Each must cost only its own connection; a good
// client keeps being served throughout.
#include <fcntl.h>
#include <poll.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <random>

#include "../unit/cmocka_support.hpp"
#include "tunnel_fixture.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/handshake.hpp"

using harness::EchoServer;
using harness::UdpClient;
using namespace udptun::protocol;

#define REQUIRE(cond, fx)    \
  do {                       \
    if (!(cond)) {           \
      (fx).dump_logs();      \
      fail_msg("%s", #cond); \
    }                        \
  } while (0)

static int tcp_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_storage to = harness::loopback(AF_INET, port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(sockaddr_in)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static bool closed_within(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  char buf[4096];
  auto deadline = ms;
  while (deadline > 0) {
    int r = poll(&p, 1, 50);
    deadline -= 50;
    if (r > 0) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return true;
    }
  }
  return false;
}

static uint64_t now_ms() {
  timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>(tv.tv_usec) / 1000;
}

static bool read_exact(int fd, uint8_t* buf, size_t n, int timeout_ms = 3000) {
  size_t got = 0;
  while (got < n) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    ssize_t r = read(fd, buf + got, n - got);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

static PreSharedKey key_of(const std::string& key_text) {
  std::vector<uint8_t> raw(key_text.begin(), key_text.end());
  while (!raw.empty() && raw.back() == '\n') raw.pop_back();
  return PreSharedKey{ByteView(raw)};
}

// The server's challenge, read off a fresh connection.
static bool read_challenge(int fd, Challenge& out) {
  uint8_t wire[kServerChallengeSize];
  if (!read_exact(fd, wire, sizeof wire)) return false;
  auto parsed = decode_server_challenge(ByteView(wire, sizeof wire));
  if (!parsed.ok()) return false;
  out = parsed.value.challenge;
  return true;
}

// The hello a real client would send on a connection with this challenge.
static std::array<uint8_t, kClientHelloSize> hello_for(const PreSharedKey& key,
                                                       const Challenge& challenge,
                                                       ClientHello* sent = nullptr) {
  ClientHello h;
  h.timestamp_ms = now_ms();
  h.challenge = challenge;
  std::random_device rd;
  for (auto& b : h.session) b = static_cast<uint8_t>(rd());
  for (auto& b : h.nonce) b = static_cast<uint8_t>(rd());
  std::array<uint8_t, kClientHelloSize> wire;
  encode_client_hello(key, h, wire);
  if (sent) *sent = h;
  return wire;
}

// Sends `wire` as the hello and reads the server's verified reply; the connection, or -1.
static int finish_handshake(int fd, const PreSharedKey& key, const Mac& hello_mac,
                            const std::array<uint8_t, kClientHelloSize>& wire,
                            ServerHello* reply_out) {
  if (write(fd, wire.data(), wire.size()) != static_cast<ssize_t>(wire.size())) return -1;
  uint8_t resp[kServerHelloSize];
  if (!read_exact(fd, resp, sizeof resp)) return -1;
  auto parsed = decode_server_hello(ByteView(resp, sizeof resp));
  if (!parsed.ok() || !verify_server_hello(key, hello_mac, parsed.value)) return -1;
  if (reply_out) *reply_out = parsed.value;
  return parsed.value.status == HelloStatus::refused ? -1 : fd;
}

// An authenticated raw connection (the test plays udp-local with the codec).
static int authenticated(uint16_t port, const std::string& key_text,
                         ServerHello* reply_out = nullptr) {
  int fd = tcp_connect(port);
  PreSharedKey key = key_of(key_text);
  Challenge challenge;
  if (fd < 0 || !read_challenge(fd, challenge)) return -1;
  ClientHello h;
  auto wire = hello_for(key, challenge, &h);
  return finish_handshake(fd, key, h.mac, wire, reply_out);
}

struct GoodClient {
  EchoServer target;
  TunnelFixture fx;
  UdpClient client;
  bool start(std::vector<std::string> server_extra = {}) {
    return fx.start_server(server_extra) &&
           fx.start_local(harness::endpoint(AF_INET, target.port())) &&
           fx.echo_eventually(client, "hello", 5000);
  }
  bool still_served(const std::string& tag) { return client.echo(fx.front(), tag, 2000); }
};

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
  while (off < frames.size()) {
    ssize_t n = write(fd, frames.data() + off, frames.size() - off);
    if (n > 0) off += static_cast<size_t>(n);
    while (read(fd, sink, sizeof sink) > 0) {
    }
    if (n <= 0) usleep(1000);
  }
  REQUIRE(good.still_served("during the flood"), good.fx);
  // The flood was answered, and refused past the open rate: the last flows never opened.
  bool refused = harness::eventually(
      [&] {
        return good.fx.server->log().find("flow 10000 refused: opening flows too fast") !=
               std::string::npos;
      },
      5000);
  REQUIRE(refused, good.fx);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wrong_key_is_refused_and_nothing_passes),
      cmocka_unit_test(test_random_bytes_close_only_that_connection),
      cmocka_unit_test(test_slowloris_is_cut_off),
      cmocka_unit_test(test_flood_of_flows_is_capped),
      cmocka_unit_test(test_huge_frame_length_closes_connection),
  };
  return cmocka_run_group_tests_name("hostile_peers", tests, nullptr, nullptr);
}
