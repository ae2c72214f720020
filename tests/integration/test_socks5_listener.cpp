// udp-server's SOCKS5 listener (--socks5-listen, docs/PROTOCOL.md §7.2, §7.3), driven by
// clients written from the byte layouts: hev-socks5's FWD UDP and sing-box's UDP-over-TCP
// (v1, v2 connected). One socket per connection whatever the destinations, replies with
// their source, 60 KB datagrams, credentials, refusals (not an open proxy), a stream that
// breaks its framing, and every session gone with its connection. And udp-local as their
// client (--server-protocol socks5-fwd-udp | uot).
#include <unistd.h>

#include <arpa/inet.h>
#include <poll.h>

#include <cstring>
#include <string>
#include <vector>

#include "../unit/cmocka_support.hpp"
#include "raw_client.hpp"
#include "tunnel_fixture.hpp"

using harness::EchoServer;

namespace {

// A blocking client: raw bytes out, exact reads in, with timeouts.
class Peer {
 public:
  explicit Peer(uint16_t port) : fd_(raw_client::tcp_connect(port)) {}
  ~Peer() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return fd_ >= 0; }
  bool put(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  bool get(std::string& out, size_t n, int ms = 3000) {
    out.assign(n, '\0');
    size_t have = 0;
    while (have < n) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, ms) <= 0) return false;
      ssize_t got = ::recv(fd_, &out[have], n - have, 0);
      if (got <= 0) return false;
      have += static_cast<size_t>(got);
    }
    return true;
  }
  bool closed_within(int ms) {
    pollfd p{fd_, POLLIN, 0};
    char buf[512];
    for (int waited = 0; waited < ms; waited += 50)
      if (poll(&p, 1, 50) > 0 && ::recv(fd_, buf, sizeof buf, 0) <= 0) return true;
    return false;
  }
  // No-auth greeting, then a request: VER CMD RSV ATYP ADDR PORT; true when answered 0x00.
  bool handshake(const std::string& request, uint8_t* rep = nullptr) {
    std::string r;
    if (!put(std::string("\x05\x01\x00", 3)) || !get(r, 2) || r != std::string("\x05\x00", 2))
      return false;
    if (!put(request) || !get(r, 10)) return false;
    if (rep) *rep = static_cast<uint8_t>(r[1]);
    return r[0] == 5 && r[1] == 0;
  }

 private:
  int fd_;
};

std::string be16(size_t v) {
  return std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
}
// SOCKS5 address: ATYP 1 (IPv4) or 4 (IPv6), address, port.
std::string socks_address(const std::string& ip, uint16_t port) {
  uint8_t a[16];
  bool v6 = ip.find(':') != std::string::npos;
  inet_pton(v6 ? AF_INET6 : AF_INET, ip.c_str(), a);
  return std::string(1, v6 ? '\x04' : '\x01') +
         std::string(reinterpret_cast<char*>(a), v6 ? 16 : 4) + be16(port);
}
const std::string kFwdUdp = std::string("\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00", 10);
std::string connect_to_name(const std::string& name) {
  return std::string("\x05\x01\x00\x03", 4) + static_cast<char>(name.size()) + name + be16(0);
}

// FWD UDP: DATLEN, HDRLEN, ADDRESS, DATA.
std::string fwd(const std::string& ip, uint16_t port, const std::string& data) {
  std::string a = socks_address(ip, port);
  return be16(data.size()) + static_cast<char>(3 + a.size()) + a + data;
}
bool read_fwd(Peer& p, std::string& from, std::string& data) {
  std::string h;
  if (!p.get(h, 3)) return false;
  size_t len = static_cast<uint8_t>(h[0]) << 8 | static_cast<uint8_t>(h[1]);
  size_t hdr = static_cast<uint8_t>(h[2]);
  return hdr > 3 && p.get(from, hdr - 3) && p.get(data, len);
}
// UDP-over-TCP v1: the address with family bytes 0/1/2, LENGTH, DATA.
std::string uot(const std::string& ip, uint16_t port, const std::string& data) {
  std::string a = socks_address(ip, port);
  a[0] = a[0] == '\x01' ? '\x00' : '\x01';
  return a + be16(data.size()) + data;
}

struct ListenerFixture {
  TunnelFixture fx;
  uint16_t port = harness::free_port(AF_INET, SOCK_STREAM);
  bool start(std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--socks5-listen", harness::endpoint(AF_INET, port)});
    if (!fx.start_server(extra)) return false;
    return harness::eventually(
        [&] {
          int fd = raw_client::tcp_connect(port);
          if (fd < 0) return false;
          close(fd);
          return true;
        },
        5000);
  }
};

}  // namespace

static void test_fwd_udp_one_socket_for_every_destination(void**) {
  ListenerFixture l;
  EchoServer a, b, six(AF_INET6);
  REQUIRE(l.start(), l.fx);
  Peer p(l.port);
  REQUIRE(p.handshake(kFwdUdp), l.fx);
  std::string from, data;
  REQUIRE(p.put(fwd("127.0.0.1", a.port(), "to a")), l.fx);
  REQUIRE(read_fwd(p, from, data) && data == "to a", l.fx);
  REQUIRE(from == socks_address("127.0.0.1", a.port()), l.fx);
  REQUIRE(p.put(fwd("127.0.0.1", b.port(), "to b")), l.fx);
  REQUIRE(read_fwd(p, from, data) && data == "to b", l.fx);
  REQUIRE(from == socks_address("127.0.0.1", b.port()), l.fx);
  // Both targets saw the same source port: one socket, full cone.
  REQUIRE(a.last_source_port() == b.last_source_port(), l.fx);
  std::string big(60'000, 'g');
  REQUIRE(p.put(fwd("127.0.0.1", a.port(), big)), l.fx);
  REQUIRE(read_fwd(p, from, data) && data == big, l.fx);
  // IPv6 on its own connection (the first destination names the flow's family).
  Peer q(l.port);
  REQUIRE(q.handshake(kFwdUdp), l.fx);
  REQUIRE(q.put(fwd("::1", six.port(), "six")), l.fx);
  REQUIRE(read_fwd(q, from, data) && data == "six", l.fx);
  REQUIRE(from == socks_address("::1", six.port()), l.fx);
  REQUIRE(harness::eventually([&] { return l.fx.server_counter("socks5_clients") == 2; }, 3000),
          l.fx);
}

static void test_udp_over_tcp_v1_and_v2(void**) {
  ListenerFixture l;
  EchoServer target;
  REQUIRE(l.start(), l.fx);
  Peer v1(l.port);
  REQUIRE(v1.handshake(connect_to_name("sp.udp-over-tcp.arpa")), l.fx);
  REQUIRE(v1.put(uot("127.0.0.1", target.port(), "v1 datagram")), l.fx);
  std::string r;
  std::string want = uot("127.0.0.1", target.port(), "v1 datagram");
  REQUIRE(v1.get(r, want.size()) && r == want, l.fx);
  // Version 2, connected: a request (IS_CONNECT 1, SOCKS5 address), then LENGTH + DATA.
  Peer v2(l.port);
  REQUIRE(v2.handshake(connect_to_name("sp.v2.udp-over-tcp.arpa")), l.fx);
  REQUIRE(v2.put(std::string(1, '\x01') + socks_address("127.0.0.1", target.port()) + be16(9) +
                 "connected"),
          l.fx);
  REQUIRE(v2.get(r, 2 + 9) && r == be16(9) + "connected", l.fx);
}

static void test_credentials(void**) {
  ListenerFixture l;
  EchoServer target;
  REQUIRE(l.start({"--socks5-listen-username", "gamer", "--socks5-listen-password", "s3cret"}),
          l.fx);
  Peer anonymous(l.port);
  std::string r;
  REQUIRE(anonymous.put(std::string("\x05\x01\x00", 3)), l.fx);
  REQUIRE(anonymous.get(r, 2) && r == std::string("\x05\xff", 2), l.fx);
  REQUIRE(anonymous.closed_within(2000), l.fx);
  Peer wrong(l.port);
  REQUIRE(wrong.put(std::string("\x05\x01\x02", 3) + std::string("\x01\x05gamer\x05wrong", 13)),
          l.fx);
  REQUIRE(wrong.get(r, 4) && r == std::string("\x05\x02\x01\x01", 4), l.fx);
  REQUIRE(wrong.closed_within(2000), l.fx);
  Peer right(l.port);
  REQUIRE(right.put(std::string("\x05\x01\x02", 3) + std::string("\x01\x05gamer\x06s3cret", 14)),
          l.fx);
  REQUIRE(right.get(r, 4) && r == std::string("\x05\x02\x01\x00", 4), l.fx);
  REQUIRE(right.put(kFwdUdp) && right.get(r, 10) && r[1] == 0, l.fx);
  REQUIRE(right.put(fwd("127.0.0.1", target.port(), "authenticated")), l.fx);
  std::string from, data;
  REQUIRE(read_fwd(right, from, data) && data == "authenticated", l.fx);
}

// Not an open proxy: CONNECT to anything but the UDP-over-TCP names, UDP ASSOCIATE and BIND
// are refused, and forbidden targets are dropped as for udptun's clients.
static void test_refusals_and_bad_framing(void**) {
  ListenerFixture l;
  EchoServer target;
  REQUIRE(l.start(), l.fx);
  uint8_t rep = 0xff;
  Peer connect(l.port);
  REQUIRE(!connect.handshake(std::string("\x05\x01\x00", 3) + socks_address("127.0.0.1", 80), &rep),
          l.fx);
  REQUIRE(rep == 0x02 && connect.closed_within(2000), l.fx);
  Peer associate(l.port);
  REQUIRE(!associate.handshake(std::string("\x05\x03\x00", 3) + socks_address("0.0.0.0", 0), &rep),
          l.fx);
  REQUIRE(rep == 0x07 && associate.closed_within(2000), l.fx);
  // A HDRLEN that does not match its address: the stream cannot go on.
  Peer broken(l.port), bystander(l.port);
  REQUIRE(broken.handshake(kFwdUdp) && bystander.handshake(kFwdUdp), l.fx);
  std::string bad = fwd("127.0.0.1", target.port(), "x");
  bad[2] = 11;
  REQUIRE(broken.put(bad), l.fx);
  REQUIRE(broken.closed_within(2000), l.fx);
  std::string from, data;
  REQUIRE(bystander.put(fwd("127.0.0.1", target.port(), "still served")), l.fx);
  REQUIRE(read_fwd(bystander, from, data) && data == "still served", l.fx);
  REQUIRE(harness::eventually(
              [&] {
                return l.fx.server_counter("socks5_clients") == 1 &&
                       l.fx.server_counter("sessions") == 1;
              },
              3000),
          l.fx);
  REQUIRE(l.fx.server->log().find("CONNECT is served only") != std::string::npos, l.fx);
}

// hev-socks5-tunnel opens a connection per app UDP socket: one address may hold many, opened
// as fast as apps open sockets. They are not --max-sessions (which bounds udptun's resumable
// sessions) nor rate-limited as handshakes; --max-connections-per-client bounds them.
static void test_many_connections_from_one_address(void**) {
  ListenerFixture l;
  EchoServer target;
  REQUIRE(l.start({"--max-sessions", "16", "--max-connections-per-client", "150"}), l.fx);
  std::vector<std::unique_ptr<Peer>> peers;
  std::string from, data;
  for (int i = 0; i < 150; ++i) {
    peers.push_back(std::make_unique<Peer>(l.port));
    Peer& p = *peers.back();
    REQUIRE(p.handshake(kFwdUdp), l.fx);
    REQUIRE(p.put(fwd("127.0.0.1", target.port(), "flow " + std::to_string(i))), l.fx);
    REQUIRE(read_fwd(p, from, data) && data == "flow " + std::to_string(i), l.fx);
  }
  // The 151st is closed at accept.
  Peer over(l.port);
  REQUIRE(over.closed_within(2000), l.fx);
  REQUIRE(harness::eventually([&] { return l.fx.server_counter("socks5_clients") == 150; }, 3000),
          l.fx);
  // One goes, another may come.
  peers.pop_back();
  REQUIRE(harness::eventually(
              [&] {
                Peer again(l.port);
                return again.handshake(kFwdUdp);
              },
              3000),
          l.fx);
}

// udp-local speaking FWD UDP and UDP-over-TCP (--server-protocol socks5-fwd-udp | uot) to
// udp-server's SOCKS5 listener, with credentials: a connection per flow (two apps, two
// connections), and served again after udp-server is killed and started anew.
static void test_udp_local_speaks_them(void**) {
  for (const char* protocol : {"socks5-fwd-udp", "uot"}) {
    ListenerFixture l;
    EchoServer target;
    REQUIRE(l.start({"--socks5-listen-username", "gamer", "--socks5-listen-password", "s3cret"}),
            l.fx);
    REQUIRE(l.fx.start_local(harness::endpoint(AF_INET, target.port()),
                             {"--server-protocol", protocol, "--server-username", "gamer",
                              "--server-password", "s3cret"},
                             harness::endpoint(AF_INET, l.port)),
            l.fx);
    harness::UdpClient one, two;
    REQUIRE(l.fx.echo_eventually(one, std::string("first app, ") + protocol, 5000), l.fx);
    REQUIRE(l.fx.echo_eventually(two, std::string("second app, ") + protocol, 5000), l.fx);
    REQUIRE(harness::eventually([&] { return l.fx.server_counter("socks5_clients") == 2; }, 3000),
            l.fx);
    l.fx.server->kill9();
    REQUIRE(l.start({"--socks5-listen-username", "gamer", "--socks5-listen-password", "s3cret"}),
            l.fx);
    REQUIRE(l.fx.echo_eventually(one, "after the server came back", 5000), l.fx);
    std::printf("    %s: two apps, two connections; served again after a kill -9\n", protocol);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fwd_udp_one_socket_for_every_destination),
      cmocka_unit_test(test_udp_over_tcp_v1_and_v2),
      cmocka_unit_test(test_credentials),
      cmocka_unit_test(test_refusals_and_bad_framing),
      cmocka_unit_test(test_many_connections_from_one_address),
      cmocka_unit_test(test_udp_local_speaks_them),
  };
  return cmocka_run_group_tests_name("socks5_listener", tests, nullptr, nullptr);
}
