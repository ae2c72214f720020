// What mobile apps and rolling upgrades need from the C APIs, in one process:
// - protect_socket (Android's VpnService.protect): every socket udp-local opens toward the
//   server passes through it before it connects — a fresh, unconnected TCP socket — and a
//   refusal is a failed attempt followed by the usual backoff, not a crash; tun2socks hands
//   its in-process udp-local's sockets to its own callback;
// - udpserver_drain: the client is told to move, the server stops by itself once it left.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "../unit/packet_builder.hpp"
#include "harness.hpp"
#include "udptun/tun2socks.h"
#include "udptun/udplocal.h"
#include "udptun/udpserver.h"
// Last: cmocka defines macros the headers above must not see.
#include "../unit/cmocka_support.hpp"

namespace {

const char* kKey = "protect socket test key 0123456789";

struct ServerSeen {
  std::atomic<int> port{0}, stopped{0};
};

struct Protector {
  std::atomic<int> calls{0};
  std::atomic<int> refuse_first{0};
  std::atomic<int> fresh_tcp{0};  // calls with an unconnected TCP socket, as promised
  std::atomic<int> sessions_up{0}, sessions_down{0}, errors{0};
  std::mutex mutex;
  std::vector<std::string> log;
};

int protect(void* user, int fd) {
  auto* p = static_cast<Protector*>(user);
  int n = ++p->calls;
  int type = 0;
  socklen_t len = sizeof type;
  sockaddr_storage peer;
  socklen_t plen = sizeof peer;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM &&
      getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0 && errno == ENOTCONN)
    p->fresh_tcp++;
  return n <= p->refuse_first ? -1 : 0;
}

udpserver_t* start_server(ServerSeen& seen) {
  char err[256];
  std::string json = std::string(R"({"listen":"127.0.0.1:0","psk":")") + kKey +
                     R"(","allow_targets":["127.0.0.0/8"],"drain_grace_ms":3000})";
  udpserver_t* s = udpserver_new(json.c_str(), err, sizeof err);
  assert_non_null(s);
  udpserver_callbacks cb{};
  cb.started = [](void* u, const char* a) {
    static_cast<ServerSeen*>(u)->port = std::atoi(std::strrchr(a, ':') + 1);
  };
  cb.stopped = [](void* u) { static_cast<ServerSeen*>(u)->stopped++; };
  cb.log = [](void*, int, const char*) {};
  assert_int_equal(udpserver_start(s, &cb, &seen), 0);
  assert_true(harness::eventually([&] { return seen.port != 0; }, 3000));
  return s;
}

// `front`: a forward for a udp-local of its own; tun2socks' in-process one needs none.
std::string local_json(int server_port, bool front = true) {
  return std::string(R"({"server":"127.0.0.1:)") + std::to_string(server_port) + R"(","psk":")" +
         kKey + (front ? R"(","forward":"127.0.0.1:0=127.0.0.1:9"})" : R"("})");
}

udplocal_callbacks local_callbacks() {
  udplocal_callbacks cb{};
  cb.protect_socket = protect;
  cb.session = [](void* u, const char*, int up, int) {
    auto* p = static_cast<Protector*>(u);
    (up ? p->sessions_up : p->sessions_down)++;
  };
  cb.error = [](void* u, const char*) { static_cast<Protector*>(u)->errors++; };
  cb.log = [](void* u, int, const char* line) {
    auto* p = static_cast<Protector*>(u);
    std::lock_guard<std::mutex> lock(p->mutex);
    p->log.emplace_back(line);
  };
  return cb;
}

bool logged(Protector& p, const char* text) {
  std::lock_guard<std::mutex> lock(p.mutex);
  for (const auto& l : p.log) {
    if (l.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

static void test_udplocal_protects_its_link_and_survives_refusals(void**) {
  ServerSeen ss;
  udpserver_t* server = start_server(ss);
  char err[256];
  udplocal_t* local = udplocal_new(local_json(ss.port).c_str(), err, sizeof err);
  assert_non_null(local);
  Protector p;
  p.refuse_first = 3;  // the app is not ready yet: three attempts are refused
  auto cb = local_callbacks();
  assert_int_equal(udplocal_start(local, &cb, &p), 0);
  assert_true(harness::eventually([&] { return p.sessions_up == 1; }, 5000));
  // Every attempt, refused or not, went through it: the first connection's four, then one
  // for each added connection of the session (--connections, 4 by default).
  assert_true(harness::eventually([&] { return p.calls == 7; }, 3000));
  assert_int_equal(p.fresh_tcp, 7);
  assert_true(logged(p, "protect_socket refused the socket"));
  assert_int_equal(p.errors, 0);  // refusals are retried, never fatal
  udplocal_stop(local);
  udplocal_free(local);
  udpserver_stop(server);
  udpserver_free(server);
}

static void test_drain_moves_the_client_and_stops_the_server(void**) {
  ServerSeen ss;
  udpserver_t* server = start_server(ss);
  char err[256];
  udplocal_t* local = udplocal_new(local_json(ss.port).c_str(), err, sizeof err);
  Protector p;
  auto cb = local_callbacks();
  assert_int_equal(udplocal_start(local, &cb, &p), 0);
  assert_true(harness::eventually([&] { return p.sessions_up == 1; }, 5000));
  assert_int_equal(udpserver_drain(server), 0);
  // The client hears GOAWAY and leaves; with no one left the server stops well before the
  // grace period (3 s) is over.
  assert_true(harness::eventually([&] { return ss.stopped == 1; }, 2000));
  assert_true(harness::eventually([&] { return p.sessions_down >= 1; }, 2000));
  assert_true(logged(p, "server draining"));
  assert_int_equal(udpserver_drain(server), -1);  // stopped: nothing to drain
  udplocal_stop(local);
  udplocal_free(local);
  udpserver_free(server);
}

static void test_tun2socks_hands_its_udp_local_sockets_to_the_app(void**) {
  ServerSeen ss;
  udpserver_t* server = start_server(ss);
  std::string json = R"({"device":"callbacks","socks5":"127.0.0.1:1080","udp_local":)" +
                     local_json(ss.port, /*front=*/false) + "}";
  char err[256];
  tun2socks_t* t = tun2socks_new(json.c_str(), err, sizeof err);
  assert_non_null(t);
  Protector p;
  tun2socks_callbacks cb{};
  cb.protect_socket = protect;
  cb.log = [](void*, int, const char*) {};
  assert_int_equal(tun2socks_start(t, &cb, &p), 0);
  tun2socks_stats st{};
  assert_true(harness::eventually(
      [&] {
        tun2socks_get_stats(t, &st);
        return st.udp_tunnel_up == 1;
      },
      5000));
  assert_true(p.calls >= 1);
  assert_int_equal(p.fresh_tcp, p.calls.load());
  tun2socks_stop(t);
  tun2socks_free(t);
  udpserver_stop(server);
  udpserver_free(server);
}

// tun2socks' own sockets: a SOCKS5 CONNECT for a TCP connection from the device, the UDP
// ASSOCIATE control connection for a datagram. Refused, the TCP connection is reset.
static void test_tun2socks_protects_its_socks5_sockets(void**) {
  // A SOCKS5 server that never answers: connections complete in its backlog, which is all
  // the test needs (the protector runs before connect).
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_storage at = harness::loopback(AF_INET, 0);
  assert_int_equal(bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof(sockaddr_in)), 0);
  assert_int_equal(listen(listener, 16), 0);
  socklen_t len = sizeof at;
  getsockname(listener, reinterpret_cast<sockaddr*>(&at), &len);
  int port = ntohs(reinterpret_cast<sockaddr_in*>(&at)->sin_port);
  for (bool refuse : {false, true}) {
    std::string json = R"({"device":"callbacks","udp":"socks5","socks5":"127.0.0.1:)" +
                       std::to_string(port) + R"("})";
    char err[256];
    tun2socks_t* t = tun2socks_new(json.c_str(), err, sizeof err);
    assert_non_null(t);
    struct Seen : Protector {
      std::mutex out_mutex;
      std::vector<std::vector<uint8_t>> out;
    } p;
    p.refuse_first = refuse ? 1000 : 0;
    tun2socks_callbacks cb{};
    cb.protect_socket = protect;
    cb.log = [](void*, int, const char*) {};
    cb.packet_out = [](void* u, const uint8_t* packet, size_t n) {
      auto* s = static_cast<Seen*>(u);
      std::lock_guard<std::mutex> lock(s->out_mutex);
      s->out.emplace_back(packet, packet + n);
    };
    assert_int_equal(tun2socks_start(t, &cb, &p), 0);
    auto syn = packet_builder::ipv4_packet(6, "10.0.85.2", 40001, "192.0.2.1", 80, "");
    auto udp = packet_builder::ipv4_packet(17, "10.0.85.2", 40002, "192.0.2.1", 53, "a query");
    // Taken once the instance runs (-EPIPE before).
    assert_true(harness::eventually(
        [&] { return tun2socks_packet_in(t, syn.data(), syn.size()) == 0; }, 3000));
    // The connection is handed over once established: answer the SYN-ACK.
    uint32_t their_seq = 0;
    assert_true(harness::eventually(
        [&] {
          std::lock_guard<std::mutex> lock(p.out_mutex);
          for (const auto& o : p.out) {
            if (o.size() >= 40 && o[9] == 6 && (o[33] & 0x12) == 0x12) {
              their_seq = static_cast<uint32_t>(o[24]) << 24 | o[25] << 16 | o[26] << 8 | o[27];
              return true;
            }
          }
          return false;
        },
        3000));
    auto ack = packet_builder::ipv4_packet(6, "10.0.85.2", 40001, "192.0.2.1", 80, "", 0x10,
                                           0x12000001, their_seq + 1);
    assert_int_equal(tun2socks_packet_in(t, ack.data(), ack.size()), 0);
    assert_true(harness::eventually([&] { return p.calls >= 1; }, 3000));
    assert_int_equal(tun2socks_packet_in(t, udp.data(), udp.size()), 0);
    assert_true(harness::eventually([&] { return p.calls >= 2; }, 3000));
    assert_int_equal(p.fresh_tcp, p.calls.load());
    if (refuse) {
      auto reset = [&] {
        std::lock_guard<std::mutex> lock(p.out_mutex);
        for (const auto& o : p.out) {
          if (o.size() >= 40 && o[9] == 6 && (o[33] & 0x04)) return true;  // TCP RST
        }
        return false;
      };
      assert_true(harness::eventually(reset, 3000));
    }
    tun2socks_stop(t);
    tun2socks_free(t);
  }
  close(listener);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_udplocal_protects_its_link_and_survives_refusals),
      cmocka_unit_test(test_drain_moves_the_client_and_stops_the_server),
      cmocka_unit_test(test_tun2socks_hands_its_udp_local_sockets_to_the_app),
      cmocka_unit_test(test_tun2socks_protects_its_socks5_sockets),
  };
  return cmocka_run_group_tests_name("protect_socket", tests, nullptr, nullptr);
}
