// The lwIP glue as tun2socks uses it, fed packets by hand (no TUN, no root): UDP and TCP to
// any address are accepted, and replies leave with the original destination as source.
#include "udptun/protocol/socket_api.hpp"

#include <cstring>
#include <string>
#include <vector>

#include "cmocka_support.hpp"
#include "lwip_glue.h"
#include "packet_builder.hpp"

using namespace packet_builder;

namespace {

struct Capture {
  std::vector<std::vector<uint8_t>> out;
  std::vector<std::string> udp_src, udp_dst, udp_data;
  std::vector<std::string> tcp_src, tcp_dst;
  t2s_stack* stack = nullptr;
};

std::string text(const struct sockaddr* sa) {
  char ip[64];
  uint16_t port;
  if (sa->sa_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    port = ntohs(a->sin_port);
  } else {
    auto* a = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
    port = ntohs(a->sin6_port);
  }
  return std::string(ip) + ":" + std::to_string(port);
}

t2s_stack_callbacks callbacks() {
  t2s_stack_callbacks cb{};
  cb.output = [](void* u, const struct iovec* iov, int n) {
    std::vector<uint8_t> pkt;
    for (int i = 0; i < n; ++i) {
      auto* b = static_cast<const uint8_t*>(iov[i].iov_base);
      pkt.insert(pkt.end(), b, b + iov[i].iov_len);
    }
    static_cast<Capture*>(u)->out.push_back(pkt);
  };
  cb.udp_datagram = [](void* u, const struct sockaddr* src, const struct sockaddr* dst,
                       const uint8_t* d, size_t n) {
    auto* c = static_cast<Capture*>(u);
    c->udp_src.push_back(text(src));
    c->udp_dst.push_back(text(dst));
    c->udp_data.emplace_back(reinterpret_cast<const char*>(d), n);
  };
  cb.tcp_accept = [](void* u, t2s_tcp* conn, const struct sockaddr* src,
                     const struct sockaddr* dst) -> int {
    auto* c = static_cast<Capture*>(u);
    c->tcp_src.push_back(text(src));
    c->tcp_dst.push_back(text(dst));
    t2s_tcp_callbacks tcb{};
    tcb.recv = [](void*, const uint8_t*, size_t) {};
    tcb.sent = [](void*, size_t) {};
    tcb.gone = [](void*, const char*) {};
    t2s_tcp_set_callbacks(conn, &tcb, nullptr);
    return 1;
  };
  return cb;
}

}  // namespace

static void test_udp_to_any_address_and_reply_from_it(void**) {
  Capture cap;
  auto cb = callbacks();
  t2s_stack* s = t2s_stack_new(1500, &cb, &cap);
  assert_non_null(s);
  assert_null(t2s_stack_new(1500, &cb, &cap));  // one lwIP per process
  auto pkt = ipv4_packet(17, "10.0.85.2", 40000, "198.51.100.7", 5353, "query");
  assert_int_equal(t2s_stack_input(s, pkt.data(), pkt.size()), 0);
  assert_int_equal(cap.udp_data.size(), 1);
  assert_string_equal(cap.udp_src[0].c_str(), "10.0.85.2:40000");
  assert_string_equal(cap.udp_dst[0].c_str(), "198.51.100.7:5353");
  assert_string_equal(cap.udp_data[0].c_str(), "query");
  assert_int_equal(cap.out.size(), 0);  // no ICMP port unreachable

  sockaddr_in from{}, to{};
  from.sin_family = to.sin_family = AF_INET;
  inet_pton(AF_INET, "198.51.100.7", &from.sin_addr);
  from.sin_port = htons(5353);
  inet_pton(AF_INET, "10.0.85.2", &to.sin_addr);
  to.sin_port = htons(40000);
  std::string answer = "answer";
  assert_int_equal(
      t2s_udp_send(s, reinterpret_cast<sockaddr*>(&from), reinterpret_cast<sockaddr*>(&to),
                   reinterpret_cast<const uint8_t*>(answer.data()), answer.size()),
      0);
  assert_int_equal(cap.out.size(), 1);
  const auto& r = cap.out[0];
  assert_int_equal(r.size(), 20 + 8 + answer.size());
  assert_int_equal(r[9], 17);
  assert_memory_equal(&r[12], &from.sin_addr, 4);  // from the original destination
  assert_memory_equal(&r[16], &to.sin_addr, 4);
  assert_int_equal(r[20] << 8 | r[21], 5353);  // and its port
  assert_int_equal(r[22] << 8 | r[23], 40000);
  assert_memory_equal(&r[28], answer.data(), answer.size());
  assert_int_equal(checksum(r.data(), 20), 0);
  t2s_stack_free(s);
}

static void test_tcp_syn_to_any_address_and_port_is_accepted(void**) {
  Capture cap;
  auto cb = callbacks();
  t2s_stack* s = t2s_stack_new(1500, &cb, &cap);
  assert_non_null(s);
  for (uint16_t port : {443, 22, 65000}) {
    cap.out.clear();
    auto syn = ipv4_packet(6, "10.0.85.2", 50000, "203.0.113.9", port, "");
    assert_int_equal(t2s_stack_input(s, syn.data(), syn.size()), 0);
    assert_int_equal(cap.out.size(), 1);
    const auto& r = cap.out[0];
    assert_int_equal(r[9], 6);
    assert_int_equal(r[33] & 0x12, 0x12);  // SYN-ACK, not RST
    assert_int_equal(r[20] << 8 | r[21], port);
    uint8_t want[4];
    inet_pton(AF_INET, "203.0.113.9", want);
    assert_memory_equal(&r[12], want, 4);
    // Complete the handshake: the connection is handed over once established.
    uint32_t their_seq = static_cast<uint32_t>(r[24]) << 24 | r[25] << 16 | r[26] << 8 | r[27];
    auto ack = ipv4_packet(6, "10.0.85.2", 50000, "203.0.113.9", port, "", 0x10, 0x12000001,
                           their_seq + 1);
    assert_int_equal(t2s_stack_input(s, ack.data(), ack.size()), 0);
  }
  assert_int_equal(cap.tcp_dst.size(), 3);
  assert_string_equal(cap.tcp_dst[0].c_str(), "203.0.113.9:443");
  assert_string_equal(cap.tcp_src[0].c_str(), "10.0.85.2:50000");
  t2s_stack_free(s);
  // A new stack after the old one is gone.
  t2s_stack* again = t2s_stack_new(9000, &cb, &cap);
  assert_non_null(again);
  t2s_stack_free(again);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_udp_to_any_address_and_reply_from_it),
      cmocka_unit_test(test_tcp_syn_to_any_address_and_port_is_accepted),
  };
  return cmocka_run_group_tests_name("lwip_glue", tests, nullptr, nullptr);
}
