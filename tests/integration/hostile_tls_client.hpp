// A TLS client that attacks udp-server's TLS carrier: it completes a TLS handshake (it
// accepts any certificate: it does not care who answers), may speak udptun inside, and can
// send records a well-behaved peer never sends: handshake records packed with empty
// ClientHello messages, each of which makes the server answer with an alert. It writes with
// a send timeout, so a server that stops reading it never blocks the test.
#pragma once

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_internal.h>  // mbedtls_ssl_write_record: records of our own making

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "raw_client.hpp"

class HostileTlsClient {
 public:
  HostileTlsClient() {
    mbedtls_net_init(&net_);
    mbedtls_ssl_init(&ssl_);
    mbedtls_ssl_config_init(&conf_);
    mbedtls_ctr_drbg_init(&drbg_);
    mbedtls_entropy_init(&entropy_);
  }
  ~HostileTlsClient() {
    mbedtls_ssl_free(&ssl_);
    mbedtls_ssl_config_free(&conf_);
    mbedtls_ctr_drbg_free(&drbg_);
    mbedtls_entropy_free(&entropy_);
    mbedtls_net_free(&net_);
  }
  HostileTlsClient(const HostileTlsClient&) = delete;
  HostileTlsClient& operator=(const HostileTlsClient&) = delete;

  // TCP connect and the TLS handshake (blocking, bounded by the socket timeouts).
  bool connect(uint16_t port) {
    net_.fd = raw_client::tcp_connect(port);
    if (net_.fd < 0) return false;
    timeval tv{2, 0};
    setsockopt(net_.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    timeval send_tv{0, 200'000};  // a full send buffer: back to the caller soon
    setsockopt(net_.fd, SOL_SOCKET, SO_SNDTIMEO, &send_tv, sizeof send_tv);
    static const char kPersonal[] = "hostile tls";
    if (mbedtls_ctr_drbg_seed(&drbg_, mbedtls_entropy_func, &entropy_,
                              reinterpret_cast<const unsigned char*>(kPersonal),
                              sizeof kPersonal - 1) != 0 ||
        mbedtls_ssl_config_defaults(&conf_, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0)
      return false;
    mbedtls_ssl_conf_authmode(&conf_, MBEDTLS_SSL_VERIFY_NONE);
    mbedtls_ssl_conf_rng(&conf_, mbedtls_ctr_drbg_random, &drbg_);
    if (mbedtls_ssl_setup(&ssl_, &conf_) != 0) return false;
    mbedtls_ssl_set_bio(&ssl_, &net_, send_some, receive_some, nullptr);
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < end) {
      int rc = mbedtls_ssl_handshake(&ssl_);
      if (rc == 0) return true;
      if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) return false;
    }
    return false;
  }

  bool write_all(const uint8_t* p, size_t n) {
    while (n > 0) {
      int w = mbedtls_ssl_write(&ssl_, p, n);
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  bool read_exact(uint8_t* p, size_t n) {
    while (n > 0) {
      int r = mbedtls_ssl_read(&ssl_, p, n);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }

  // udptun's handshake inside TLS, with the right key: an authenticated session.
  bool authenticate(const std::string& key_text) {
    using namespace udptun::protocol;
    uint8_t wire[kServerChallengeSize];
    if (!read_exact(wire, sizeof wire)) return false;
    auto challenge = decode_server_challenge(ByteView(wire, sizeof wire));
    if (!challenge.ok()) return false;
    PreSharedKey key = raw_client::key_of(key_text);
    ClientHello h;
    auto hello = raw_client::hello_for(key, challenge.value.challenge, &h);
    if (!write_all(hello.data(), hello.size())) return false;
    uint8_t resp[kServerHelloSize];
    if (!read_exact(resp, sizeof resp)) return false;
    auto reply = decode_server_hello(ByteView(resp, sizeof resp));
    return reply.ok() && verify_server_hello(key, h.mac, reply.value) &&
           reply.value.status != HelloStatus::refused;
  }

  // For `seconds` (or until the server closes us), records of 4,096 empty ClientHellos,
  // never reading. Returns how many records left in full.
  size_t flood_client_hellos(double seconds) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    size_t records = 0;
    while (std::chrono::steady_clock::now() < end) {
      if (ssl_.out_left > 0) {  // what the full socket did not take yet
        int rc = mbedtls_ssl_flush_output(&ssl_);
        if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
        if (rc != 0) break;
        records++;
        continue;
      }
      ssl_.out_msgtype = MBEDTLS_SSL_MSG_HANDSHAKE;
      ssl_.out_msglen = 4 * 4096;
      for (size_t i = 0; i < 4096; ++i) {
        uint8_t* m = ssl_.out_msg + 4 * i;
        m[0] = MBEDTLS_SSL_HS_CLIENT_HELLO;  // type, then a 24-bit length of 0
        m[1] = m[2] = m[3] = 0;
      }
      int rc = mbedtls_ssl_write_record(&ssl_, 1);
      if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
      if (rc != 0) break;  // the server closed us
      records++;
    }
    return records;
  }

  // Whether the server closed the connection within `ms` (what it sent meanwhile is
  // read and thrown away).
  bool closed_within(int ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    char buf[16384];
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{net_.fd, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      ssize_t n = recv(net_.fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
    }
    return false;
  }

 private:
  // The socket's timeouts end a blocked call with EAGAIN: "try again" to mbedTLS (its own
  // mbedtls_net_send calls that a failure on a blocking socket).
  static int send_some(void* ctx, const unsigned char* buf, size_t len) {
    ssize_t n = send(static_cast<mbedtls_net_context*>(ctx)->fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0) return static_cast<int>(n);
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_WRITE
                                                                     : MBEDTLS_ERR_NET_SEND_FAILED;
  }
  static int receive_some(void* ctx, unsigned char* buf, size_t len) {
    ssize_t n = recv(static_cast<mbedtls_net_context*>(ctx)->fd, buf, len, 0);
    if (n >= 0) return static_cast<int>(n);
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ
                                                                     : MBEDTLS_ERR_NET_RECV_FAILED;
  }

  mbedtls_net_context net_;
  mbedtls_ssl_context ssl_;
  mbedtls_ssl_config conf_;
  mbedtls_ctr_drbg_context drbg_;
  mbedtls_entropy_context entropy_;
};
