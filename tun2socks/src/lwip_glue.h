/* The lwIP side of tun2socks behind a plain C interface with no lwIP types, so that C++ code
 * using libuv and system socket headers never includes lwIP headers (both define TCP_MSS,
 * among others). Everything here runs on one thread: lwIP (NO_SYS=1) has no locking.
 *
 * lwIP keeps its state in globals, so one stack exists per process at a time:
 * t2s_stack_new fails while another is alive. */
#ifndef UDPTUN_TUN2SOCKS_LWIP_GLUE_H
#define UDPTUN_TUN2SOCKS_LWIP_GLUE_H

#include <stddef.h>
#include <stdint.h>
#ifdef _WIN32
#include <winsock2.h> /* struct sockaddr */
#include <ws2tcpip.h> /* struct sockaddr_in6 */
#else
#include <sys/socket.h>
#endif

#include "iovec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct t2s_stack t2s_stack;
typedef struct t2s_tcp t2s_tcp;

typedef struct t2s_stack_callbacks {
  /* A packet for the TUN device (an IP packet, possibly in several pieces). */
  void (*output)(void* user, const struct iovec* iov, int iovcnt);
  /* A new TCP connection from the TUN to dst. Return non-zero to take it (then set its
   * callbacks with t2s_tcp_set_callbacks before returning), zero to refuse it (RST). */
  int (*tcp_accept)(void* user, t2s_tcp* conn, const struct sockaddr* src,
                    const struct sockaddr* dst);
  /* A UDP datagram from the TUN. */
  void (*udp_datagram)(void* user, const struct sockaddr* src, const struct sockaddr* dst,
                       const uint8_t* data, size_t len);
} t2s_stack_callbacks;

typedef struct t2s_tcp_callbacks {
  /* Bytes from the TUN side. Call t2s_tcp_recved once they have been passed on, to reopen
   * the window. len 0 means the TUN side finished sending (FIN). */
  void (*recv)(void* conn_user, const uint8_t* data, size_t len);
  /* Send buffer space came back (bytes were acknowledged). */
  void (*sent)(void* conn_user, size_t len);
  /* The connection is gone (reset, aborted, or fully closed); conn must not be used again. */
  void (*gone)(void* conn_user, const char* reason);
} t2s_tcp_callbacks;

/* mtu: the TUN MTU. Returns NULL if a stack already exists in this process. */
t2s_stack* t2s_stack_new(unsigned mtu, const t2s_stack_callbacks* cb, void* user);
void t2s_stack_free(t2s_stack* s); /* aborts every connection still open */
/* An IP packet from the TUN (copied). Returns 0, or -1 when it was dropped. */
int t2s_stack_input(t2s_stack* s, const uint8_t* packet, size_t len);
/* Runs lwIP's due timers; returns the milliseconds until the next one is due. */
uint32_t t2s_stack_check_timeouts(t2s_stack* s);
/* Sends a UDP datagram into the TUN as if it came from `from` (any address) to `to`. */
int t2s_udp_send(t2s_stack* s, const struct sockaddr* from, const struct sockaddr* to,
                 const uint8_t* data, size_t len);

void t2s_tcp_set_callbacks(t2s_tcp* c, const t2s_tcp_callbacks* cb, void* conn_user);
/* Queues bytes toward the TUN side; returns how many were taken (limited by the send
 * buffer), or -1 on error. */
long t2s_tcp_write(t2s_tcp* c, const uint8_t* data, size_t len);
void t2s_tcp_recved(t2s_tcp* c, size_t len);
/* Half-close: no more bytes toward the TUN side (FIN). */
void t2s_tcp_shutdown_write(t2s_tcp* c);
/* Closes gracefully (or aborts with RST when abort is non-zero). No callback follows. */
void t2s_tcp_close(t2s_tcp* c, int abort);

#ifdef __cplusplus
}
#endif
#endif
