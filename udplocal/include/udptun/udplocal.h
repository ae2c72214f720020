/* libudplocal: the client end of udptun. It takes UDP datagrams from its fronts (plain
 * forwards, a SOCKS5 server with UDP ASSOCIATE) and carries them to a udp-server over one TCP
 * connection (direct, to a port forward such as ss-tunnel, or through a SOCKS5 CONNECT),
 * resuming its session after link losses and re-opening its flows after a server restart.
 *
 * Threading: every callback runs on the instance's own loop thread. udplocal_stop and
 * udplocal_get_stats may be called from any thread. Several instances may live in one
 * process. */
#ifndef UDPTUN_UDPLOCAL_H
#define UDPTUN_UDPLOCAL_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

#ifdef __cplusplus
extern "C" {
#endif

typedef struct udplocal udplocal_t;

typedef struct udplocal_stats {
  uint64_t link_up;          /* 1 while a connection is authenticated, else 0 */
  uint64_t connects;         /* connection attempts */
  uint64_t sessions_new;     /* handshakes answered new_session */
  uint64_t sessions_resumed; /* handshakes answered resumed */
  uint64_t handshake_refusals;
  uint64_t link_losses; /* authenticated connections that died */
  uint64_t flows;       /* flows alive now */
  uint64_t flows_opened, flows_closed_idle, flows_refused;
  uint64_t datagrams_up, bytes_up;     /* toward the server */
  uint64_t datagrams_down, bytes_down; /* delivered to local clients */
  uint64_t drops_link_down;            /* the link-down queue was full */
  uint64_t drops_queue_full;           /* the TCP output queue was full */
  uint64_t drops_refused;              /* to a flow the server refused */
  uint64_t drops_flow_limit;           /* no flow could be made */
  uint64_t drops_socks5_fragment;      /* SOCKS5 fragments dropped: over the reassembly cap,
                                          or of a sequence that cannot complete */
  uint64_t drops_socks5_foreign;       /* SOCKS5 datagrams from other than the associated client */
  uint64_t drops_socks5_malformed;
  uint64_t drops_send_failed;  /* a local client's socket refused a reply */
  uint64_t socks5_connections; /* SOCKS5 control connections now */
  uint64_t rtt_us;             /* last heartbeat round trip */
  uint64_t drops_rate_limited; /* SOCKS5 datagrams over the association's rate limit */
  uint64_t drops_not_allowed;  /* datagrams and SOCKS5 connections from apps outside
                                  --allow-client */
  /* SOCKS5 UDP fragments (RFC 1928 §7) */
  uint64_t socks5_reassembled;          /* datagrams made whole from fragments */
  uint64_t socks5_reassembly_timeouts;  /* sequences not whole within the timer */
  uint64_t socks5_reassembly_abandoned; /* sequences restarted or with a position skipped */
  uint64_t drops_queue_aged; /* the link was full: dropped from the head of a flow's queue
                                (waited too long; counted in drops_queue_full before 0.2) */
  /* --connections: a session over several TCP connections */
  uint64_t lanes_up;           /* its connections up now (0 or 1 without --connections) */
  uint64_t duplicates_sent;    /* datagrams of small flows sent on a second connection too */
  uint64_t duplicates_dropped; /* second copies from the server, dropped */
} udplocal_stats;

typedef struct udplocal_callbacks {
  /* A front is listening: kind is "forward" or "socks5", address "IP:PORT" as bound. */
  void (*started)(void* user, const char* kind, const char* address);
  /* The tunnel is up (up=1, resumed=1 when the server kept the session) or down (up=0). */
  void (*session)(void* user, const char* session_id, int up, int resumed);
  /* A fatal error: the instance stops after it. */
  void (*error)(void* user, const char* message);
  void (*stats)(void* user, const udplocal_stats* stats);
  void (*log)(void* user, int level, const char* line);
  void (*stopped)(void* user);
  /* In-process path (see udplocal_submit): a reply for a submitted datagram. `src` is where
   * it came from (the target, or another address: full-cone), `dst` the submitter's source
   * address it is for. The data is valid only during the call. */
  void (*datagram)(void* user, const struct sockaddr* src, const struct sockaddr* dst,
                   const uint8_t* data, size_t len);
  /* Optional, for Android's VpnService: called (on the instance's thread) with every socket
   * the instance opens toward the server — the TCP link, also through "via_socks5" — after
   * it is created and before it connects; call VpnService.protect(fd) there. Return 0 to go
   * on; non-zero refuses it: that attempt fails ("protect_socket refused the socket") and
   * the usual reconnect backoff follows. The server's name is resolved with the system's
   * resolver: give an IP address, or let the VPN route DNS. */
  int (*protect_socket)(void* user, int fd);
} udplocal_callbacks;

/* Creates an instance from a JSON configuration (docs/CONFIG.md). NULL and a message in err
 * when it is invalid. Opens no socket yet. */
udplocal_t* udplocal_new(const char* config_json, char* err, size_t errlen);
/* Runs on a thread of its own; 0 or a negative code. */
int udplocal_start(udplocal_t* c, const udplocal_callbacks* cb, void* user);
/* Runs on the calling thread until stopped; 0 on a clean stop, negative if it could not start. */
int udplocal_run(udplocal_t* c, const udplocal_callbacks* cb, void* user);
/* Thread-safe, returns at once; the stopped callback follows. */
void udplocal_stop(udplocal_t* c);
/* The latest stats snapshot; thread-safe. */
void udplocal_get_stats(udplocal_t* c, udplocal_stats* out);
/* The counters as one flat JSON object ({"flows":3,...}, the field names above), snprintf
 * style: at most cap-1 bytes and a NUL are written; returns the length the whole text needs. */
size_t udplocal_stats_json(const udplocal_stats* stats, char* out, size_t cap);
/* The in-process datagram path (for an embedded tun2socks): send `data` from `src` (the
 * application's address) to `dst` through the tunnel, as if it had arrived on a front.
 * Replies come back through the `datagram` callback. Needs "in_process": true in the
 * configuration. From the instance's own thread the datagram is handled at once; from any
 * other thread it is queued (bounded) and handled on the loop. Returns 0, -EAGAIN when the
 * queue is full (the datagram is dropped), -EINVAL on bad arguments, -EPIPE when the
 * instance is not running. */
int udplocal_submit(udplocal_t* c, const struct sockaddr* src, const struct sockaddr* dst,
                    const uint8_t* data, size_t len);

/* Stops if needed, joins the thread if any, frees everything. */
void udplocal_free(udplocal_t* c);

#ifdef __cplusplus
}
#endif
#endif
