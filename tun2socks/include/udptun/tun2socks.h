/* libtun2socks: a TUN device (or a packet interface of the embedding app) in front of lwIP;
 * TCP connections become SOCKS5 CONNECTs, UDP datagrams go to an in-process udp-local (or are
 * dropped), and replies come back as IP packets from the address they came from.
 *
 * lwIP is a process-wide stack: one tun2socks instance may run in a process at a time
 * (starting a second fails with an error). Callbacks run on the instance's loop thread;
 * tun2socks_stop, tun2socks_packet_in and tun2socks_get_stats may be called from any thread. */
#ifndef UDPTUN_TUN2SOCKS_H
#define UDPTUN_TUN2SOCKS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tun2socks tun2socks_t;

typedef struct tun2socks_stats {
  uint64_t packets_in, packets_out, packets_dropped;
  uint64_t tcp_connections;         /* open now */
  uint64_t tcp_opened, tcp_refused; /* SOCKS5 CONNECT failures count as refused */
  uint64_t tcp_bytes_up, tcp_bytes_down;
  uint64_t udp_datagrams_up, udp_datagrams_down;
  uint64_t udp_dropped; /* ports dropped by policy, UDP off, full queues */
  /* With the in-process udp-local: 1 while its tunnel is up, and its flows now. */
  uint64_t udp_tunnel_up, udp_flows;
  uint64_t udp_rtt_us; /* its last heartbeat round trip to udp-server */
} tun2socks_stats;

typedef struct tun2socks_callbacks {
  /* Running; `device` names the TUN (or "callbacks"). */
  void (*started)(void* user, const char* device);
  void (*error)(void* user, const char* message);
  void (*stats)(void* user, const tun2socks_stats* stats);
  void (*log)(void* user, int level, const char* line);
  void (*stopped)(void* user);
  /* With "device": "callbacks": an IP packet for the embedding app (iOS NEPacketTunnelFlow
   * style). Valid during the call only. */
  void (*packet_out)(void* user, const uint8_t* packet, size_t len);
  /* Optional, for Android's VpnService: called with every socket tun2socks opens out of the
   * tunnel — SOCKS5 CONNECTs for TCP, the SOCKS5 UDP ASSOCIATE control connection and relay
   * socket, and its in-process udp-local's link (on that instance's thread) — after it is
   * created and before it connects; call VpnService.protect(fd) there. Return 0 to go on;
   * non-zero refuses it: that connection fails as a refused one would (a TCP connection is
   * reset, a UDP association or the udp-local link is retried later). */
  int (*protect_socket)(void* user, int fd);
} tun2socks_callbacks;

/* JSON configuration (docs/CONFIG.md). NULL and a message in err when invalid. */
tun2socks_t* tun2socks_new(const char* config_json, char* err, size_t errlen);
int tun2socks_start(tun2socks_t* t, const tun2socks_callbacks* cb, void* user);
int tun2socks_run(tun2socks_t* t, const tun2socks_callbacks* cb, void* user);
void tun2socks_stop(tun2socks_t* t);
/* With "device": "callbacks": an IP packet from the embedding app. Any thread; copied.
 * Returns 0, or -EAGAIN when the inbound queue is full (dropped), -EPIPE when not running. */
int tun2socks_packet_in(tun2socks_t* t, const uint8_t* packet, size_t len);
void tun2socks_get_stats(tun2socks_t* t, tun2socks_stats* out);
/* The counters as one flat JSON object ({"flows":3,...}, the field names above), snprintf
 * style: at most cap-1 bytes and a NUL are written; returns the length the whole text needs. */
size_t tun2socks_stats_json(const tun2socks_stats* stats, char* out, size_t cap);
void tun2socks_free(tun2socks_t* t);

#ifdef __cplusplus
}
#endif
#endif
