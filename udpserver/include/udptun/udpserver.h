/* libudpserver: the server end of udptun. It accepts TCP connections from udp-local
 * instances (directly or through a tunnel such as ss-server), authenticates them with a
 * pre-shared key, and relays their flows' datagrams to UDP targets and back.
 *
 * Threading: every callback runs on the instance's own loop thread, except that with more
 * than one worker ("workers", default one per core) the log and session callbacks may run on
 * a worker's thread — never two callbacks at once. udpserver_stop may be called from any
 * thread (and from a signal-blocked main thread); everything else from the thread that owns
 * the handle. Several instances may live in one process. */
#ifndef UDPTUN_UDPSERVER_H
#define UDPTUN_UDPSERVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct udpserver udpserver_t;

typedef struct udpserver_stats {
  uint64_t sessions;          /* sessions alive now (attached or waiting for a resume) */
  uint64_t sessions_attached; /* of which have a live connection */
  uint64_t flows;             /* flows alive now */
  uint64_t connections;       /* TCP connections now, authenticated or not */
  uint64_t sessions_opened, sessions_resumed, sessions_reaped, sessions_evicted;
  uint64_t flows_opened, flows_closed_idle, flows_evicted, flows_refused;
  uint64_t auth_failures;   /* bad MAC, replay, clock skew, bad version */
  uint64_t protocol_errors; /* connections closed for garbage */
  uint64_t datagrams_to_targets, bytes_to_targets;
  uint64_t datagrams_from_targets, bytes_from_targets;
  uint64_t drops_send_failed;  /* target socket refused the datagram */
  uint64_t drops_queue_full;   /* the client's TCP could not take the reply */
  uint64_t drops_detached;     /* replies while the session had no connection */
  uint64_t drops_forbidden;    /* datagrams to refused targets */
  uint64_t drops_unknown_flow; /* DATA for a flow the server does not have */
  /* Bounds (each one a limit that held): */
  uint64_t links_paused;          /* times a client's frames waited: our replies to it piled up */
  uint64_t drops_duplicate_open;  /* repeated OPEN_FLOW for a flow, not answered again so soon */
  uint64_t drops_held;            /* datagrams for a flow being set up, over the session's budget */
  uint64_t flows_setup_timeout;   /* flows not ready in time (resolution, SOCKS5 association) */
  uint64_t flows_refused_full;    /* refused: the server's total of flows (descriptors) reached */
  uint64_t connections_refused;   /* refused at accept: connection cap, pending handshakes
                                     from that address, or not in --allow-client */
  uint64_t log_lines_suppressed;  /* repeated log events folded into summary lines */
  uint64_t drops_not_from_relay;  /* egress socks5: datagrams from anyone but the relay */
  uint64_t drops_filtered;        /* from an endpoint the flow never sent to, under
                                     address(-and-port)-dependent filtering */
  uint64_t drops_amplification;   /* replies over the amplification guard's allowance */
  uint64_t drops_rate_limited_up; /* to targets, over a session or client rate limit */
  uint64_t drops_rate_limited_down; /* to the client, over a session or client rate limit */
  /* egress socks5: fragmented replies from the relay (RFC 1928 §7) */
  uint64_t egress_reassembled;       /* made whole */
  uint64_t egress_fragments_dropped; /* timed out, abandoned or over the size of a datagram */
  uint64_t drops_queue_aged; /* the client's link was full: dropped from the head of a flow's
                                queue (waited too long) */
  /* sessions over several connections (udp-local --connections) */
  uint64_t lanes_joined;       /* connections that joined a session as an added lane */
  uint64_t duplicates_sent;    /* replies of small flows sent on a second connection too */
  uint64_t duplicates_dropped; /* second copies from clients, dropped */
  /* other protocols (udp-server --udpgw-listen) */
  uint64_t udpgw_clients;  /* badvpn udpgw client connections now (each its own session) */
  uint64_t socks5_clients; /* FWD UDP / UDP-over-TCP client connections now (the same) */
} udpserver_stats;

typedef struct udpserver_callbacks {
  /* Listening; `address` is "IP:PORT" of the bound socket (port resolved when 0 was asked). */
  void (*started)(void* user, const char* address);
  /* A session came up (up=1: opened or resumed) or went down (up=0: detached or reaped). */
  void (*session)(void* user, const char* session_id, int up);
  /* A fatal error: the instance stops after it. */
  void (*error)(void* user, const char* message);
  /* Every stats_interval_ms. */
  void (*stats)(void* user, const udpserver_stats* stats);
  /* One log line (level 0 error .. 3 debug). Without it, lines go to stderr. */
  void (*log)(void* user, int level, const char* line);
  /* The loop has ended and every socket is closed: the last callback. */
  void (*stopped)(void* user);
} udpserver_callbacks;

/* Creates an instance from a JSON configuration (see docs/CONFIG.md). Returns NULL and writes
 * a message into err (if not NULL) when the configuration is invalid. Opens no socket yet. */
udpserver_t* udpserver_new(const char* config_json, char* err, size_t errlen);

/* Runs the instance on a thread of its own. 0, or a negative errno-style code. */
int udpserver_start(udpserver_t* s, const udpserver_callbacks* cb, void* user);

/* Runs the instance on the calling thread until stopped. 0 on a clean stop, negative when it
 * could not start (the error callback said why). */
int udpserver_run(udpserver_t* s, const udpserver_callbacks* cb, void* user);

/* Asks the instance to stop; returns at once. Thread-safe. The stopped callback follows. */
void udpserver_stop(udpserver_t* s);

/* A graceful stop, for rolling upgrades behind a balancer: stops accepting connections, sends
 * every client GOAWAY ("shutting down": it reconnects, through the balancer, elsewhere) and
 * keeps relaying for those still here; stops by itself once all have left or after the
 * configuration's "drain_grace_ms" (default 10000). Thread-safe; returns at once, the stopped
 * callback follows. -1 when it is stopping already. */
int udpserver_drain(udpserver_t* s);

/* The latest stats snapshot (refreshed every stats_interval_ms; with several workers, the sum
 * of each worker's counters as it last published them, at most one interval older).
 * Thread-safe. */
void udpserver_get_stats(udpserver_t* s, udpserver_stats* out);
/* The counters as one flat JSON object ({"flows":3,...}, the field names above), snprintf
 * style: at most cap-1 bytes and a NUL are written; returns the length the whole text needs. */
size_t udpserver_stats_json(const udpserver_stats* stats, char* out, size_t cap);

/* Stops (if needed), waits for the thread (if any) and frees everything. */
void udpserver_free(udpserver_t* s);

#ifdef __cplusplus
}
#endif
#endif
