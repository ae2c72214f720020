/* lwIP behind the plain C interface of lwip_glue.h. See docs/LWIP-PATCH.md for the patch
 * that lets one netif accept every destination. */
#include "lwip_glue.h"

#ifndef _WIN32
#include <netinet/in.h> /* on Windows, lwip_glue.h brought Winsock's */
#endif
#include <stdlib.h>
#include <string.h>

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/udp.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"

struct t2s_stack {
  struct netif netif;
  struct tcp_pcb* listener;
  struct udp_pcb* udp;
  t2s_stack_callbacks cb;
  void* user;
  uint8_t scratch[65536]; /* reassembles a chained UDP datagram for the callback */
};

struct t2s_tcp {
  struct tcp_pcb* pcb;
  t2s_stack* stack;
  t2s_tcp_callbacks cb;
  void* user;
};

static t2s_stack* active; /* lwIP is process-wide: one stack at a time */
static int lwip_initialised;

/* ---- address conversions ---- */

static void to_sockaddr(const ip_addr_t* ip, u16_t port, struct sockaddr_storage* out) {
  memset(out, 0, sizeof *out);
  if (IP_IS_V6(ip)) {
    struct sockaddr_in6* a = (struct sockaddr_in6*)out;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    memcpy(&a->sin6_addr, ip_2_ip6(ip)->addr, 16);
  } else {
    struct sockaddr_in* a = (struct sockaddr_in*)out;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = ip4_addr_get_u32(ip_2_ip4(ip));
  }
}

static int from_sockaddr(const struct sockaddr* sa, ip_addr_t* ip, u16_t* port) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in* a = (const struct sockaddr_in*)sa;
    IP_ADDR4(ip, 0, 0, 0, 0);
    ip4_addr_set_u32(ip_2_ip4(ip), a->sin_addr.s_addr);
    *port = ntohs(a->sin_port);
    return 0;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6* a = (const struct sockaddr_in6*)sa;
    IP_SET_TYPE_VAL(*ip, IPADDR_TYPE_V6);
    memcpy(ip_2_ip6(ip)->addr, &a->sin6_addr, 16);
    ip6_addr_clear_zone(ip_2_ip6(ip));
    *port = ntohs(a->sin6_port);
    return 0;
  }
  return -1;
}

/* ---- netif ---- */

static err_t output_chain(struct netif* netif, struct pbuf* p) {
  t2s_stack* s = (t2s_stack*)netif->state;
  struct iovec iov[16];
  int n = 0;
  struct pbuf* q;
  for (q = p; q != NULL && n < 16; q = q->next) {
    iov[n].iov_base = q->payload;
    iov[n].iov_len = q->len;
    n++;
  }
  if (q != NULL) { /* a long chain: flatten it (tot_len is a u16: it fits) */
    pbuf_copy_partial(p, s->scratch, p->tot_len, 0);
    iov[0].iov_base = s->scratch;
    iov[0].iov_len = p->tot_len;
    n = 1;
  }
  s->cb.output(s->user, iov, n);
  return ERR_OK;
}

static err_t output4(struct netif* netif, struct pbuf* p, const ip4_addr_t* dst) {
  LWIP_UNUSED_ARG(dst);
  return output_chain(netif, p);
}

static err_t output6(struct netif* netif, struct pbuf* p, const ip6_addr_t* dst) {
  LWIP_UNUSED_ARG(dst);
  return output_chain(netif, p);
}

static err_t netif_setup(struct netif* netif) {
  netif->name[0] = 't';
  netif->name[1] = 'u';
  netif->output = output4;
  netif->output_ip6 = output6;
  return ERR_OK;
}

/* ---- TCP ---- */

static err_t on_tcp_recv(void* arg, struct tcp_pcb* pcb, struct pbuf* p, err_t err) {
  t2s_tcp* c = (t2s_tcp*)arg;
  struct pbuf* q;
  LWIP_UNUSED_ARG(pcb);
  LWIP_UNUSED_ARG(err);
  if (p == NULL) {
    c->cb.recv(c->user, NULL, 0);
    return ERR_OK;
  }
  for (q = p; q != NULL; q = q->next) c->cb.recv(c->user, (const uint8_t*)q->payload, q->len);
  pbuf_free(p);
  return ERR_OK;
}

static err_t on_tcp_sent(void* arg, struct tcp_pcb* pcb, u16_t len) {
  t2s_tcp* c = (t2s_tcp*)arg;
  LWIP_UNUSED_ARG(pcb);
  c->cb.sent(c->user, len);
  return ERR_OK;
}

static void on_tcp_err(void* arg, err_t err) {
  /* The pcb is already freed by lwIP. */
  t2s_tcp* c = (t2s_tcp*)arg;
  c->pcb = NULL;
  c->cb.gone(c->user, err == ERR_RST ? "reset by the TUN side" : lwip_strerr(err));
  free(c);
}

static err_t on_tcp_accept(void* arg, struct tcp_pcb* pcb, err_t err) {
  t2s_stack* s = (t2s_stack*)arg;
  struct sockaddr_storage src, dst;
  t2s_tcp* c;
  if (err != ERR_OK || pcb == NULL) return ERR_VAL;
  c = (t2s_tcp*)calloc(1, sizeof *c);
  if (c == NULL) {
    tcp_abort(pcb);
    return ERR_ABRT;
  }
  c->pcb = pcb;
  c->stack = s;
  to_sockaddr(&pcb->remote_ip, pcb->remote_port, &src);
  to_sockaddr(&pcb->local_ip, pcb->local_port, &dst);
  if (!s->cb.tcp_accept(s->user, c, (struct sockaddr*)&src, (struct sockaddr*)&dst)) {
    free(c);
    tcp_abort(pcb);
    return ERR_ABRT;
  }
  tcp_arg(pcb, c);
  tcp_recv(pcb, on_tcp_recv);
  tcp_sent(pcb, on_tcp_sent);
  tcp_err(pcb, on_tcp_err);
  tcp_nagle_disable(pcb);
  return ERR_OK;
}

void t2s_tcp_set_callbacks(t2s_tcp* c, const t2s_tcp_callbacks* cb, void* conn_user) {
  c->cb = *cb;
  c->user = conn_user;
}

long t2s_tcp_write(t2s_tcp* c, const uint8_t* data, size_t len) {
  size_t room, take, done = 0;
  if (c->pcb == NULL) return -1;
  /* tcp_write takes u16 lengths and tcp_sndbuf() tops out at 0xFFFF: chunk. */
  while (done < len) {
    room = tcp_sndbuf(c->pcb);
    if (room == 0 || tcp_sndqueuelen(c->pcb) >= TCP_SND_QUEUELEN - 4) break;
    take = len - done;
    if (take > room) take = room;
    if (take > 0xFFFF) take = 0xFFFF;
    if (tcp_write(c->pcb, data + done, (u16_t)take, TCP_WRITE_FLAG_COPY) != ERR_OK) break;
    done += take;
  }
  if (done > 0) tcp_output(c->pcb);
  return (long)done;
}

void t2s_tcp_recved(t2s_tcp* c, size_t len) {
  while (c->pcb != NULL && len > 0) {
    u16_t n = len > 0xFFFF ? 0xFFFF : (u16_t)len;
    tcp_recved(c->pcb, n);
    len -= n;
  }
}

void t2s_tcp_shutdown_write(t2s_tcp* c) {
  if (c->pcb != NULL) tcp_shutdown(c->pcb, 0, 1);
}

void t2s_tcp_close(t2s_tcp* c, int abort) {
  struct tcp_pcb* pcb = c->pcb;
  if (pcb != NULL) {
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    if (abort || tcp_close(pcb) != ERR_OK) tcp_abort(pcb);
  }
  free(c);
}

/* ---- UDP ---- */

static void on_udp(void* arg, struct udp_pcb* pcb, struct pbuf* p, const ip_addr_t* addr,
                   u16_t port) {
  t2s_stack* s = (t2s_stack*)arg;
  struct sockaddr_storage src, dst;
  /* The UDP header sits just before the payload in the first pbuf: its destination port is
   * the one the application sent to (the pcb, a catch-all, has port 0). */
  const struct udp_hdr* h = (const struct udp_hdr*)((const u8_t*)p->payload - UDP_HLEN);
  const uint8_t* data = (const uint8_t*)p->payload;
  LWIP_UNUSED_ARG(pcb);
  to_sockaddr(addr, port, &src);
  to_sockaddr(ip_current_dest_addr(), lwip_ntohs(h->dest), &dst);
  if (p->next != NULL) {
    pbuf_copy_partial(p, s->scratch, p->tot_len, 0);
    data = s->scratch;
  }
  s->cb.udp_datagram(s->user, (struct sockaddr*)&src, (struct sockaddr*)&dst, data, p->tot_len);
  pbuf_free(p);
}

int t2s_udp_send(t2s_stack* s, const struct sockaddr* from, const struct sockaddr* to,
                 const uint8_t* data, size_t len) {
  ip_addr_t src_ip, dst_ip;
  u16_t src_port, dst_port;
  struct pbuf* p;
  err_t err;
  if (len > 0xFFFF - 8 || from_sockaddr(from, &src_ip, &src_port) ||
      from_sockaddr(to, &dst_ip, &dst_port)) {
    return -1;
  }
  if (IP_GET_TYPE(&src_ip) != IP_GET_TYPE(&dst_ip)) return -1;
  p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
  if (p == NULL) return -1;
  memcpy(p->payload, data, len);
  /* The catch-all pcb sends with the reply's source port for the duration of the call. */
  s->udp->local_port = src_port;
  err = udp_sendto_if_src(s->udp, p, &dst_ip, dst_port, &s->netif, &src_ip);
  s->udp->local_port = 0;
  pbuf_free(p);
  return err == ERR_OK ? 0 : -1;
}

/* ---- the stack ---- */

t2s_stack* t2s_stack_new(unsigned mtu, const t2s_stack_callbacks* cb, void* user) {
  t2s_stack* s;
  struct tcp_pcb* pcb;
  if (active != NULL) return NULL;
  if (!lwip_initialised) {
    lwip_init();
    lwip_initialised = 1;
  }
  s = (t2s_stack*)calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->cb = *cb;
  s->user = user;
  if (netif_add(&s->netif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4, s, netif_setup, ip_input) ==
      NULL) {
    free(s);
    return NULL;
  }
  s->netif.mtu = (u16_t)mtu;
  s->netif.flags |= NETIF_FLAG_ACCEPT_ANY;
  netif_set_default(&s->netif);
  netif_set_up(&s->netif);
  netif_set_link_up(&s->netif);

  /* A TCP listener on port 0 bound to the netif: the patch makes it take every port. */
  pcb = tcp_new_ip_type(IPADDR_TYPE_ANY);
  tcp_bind_netif(pcb, &s->netif);
  tcp_bind(pcb, IP_ANY_TYPE, 0);
  s->listener = tcp_listen(pcb);
  s->listener->local_port = 0;
  tcp_arg(s->listener, s);
  tcp_accept(s->listener, on_tcp_accept);

  /* A UDP pcb on port 0 bound to the netif: the patch makes it take every datagram. */
  s->udp = udp_new_ip_type(IPADDR_TYPE_ANY);
  udp_bind_netif(s->udp, &s->netif);
  udp_bind(s->udp, IP_ANY_TYPE, 0);
  s->udp->local_port = 0;
  udp_recv(s->udp, on_udp, s);
  active = s;
  return s;
}

void t2s_stack_free(t2s_stack* s) {
  struct tcp_pcb* pcb;
  if (s == NULL) return;
  /* Abort what is left; their owners were told (gone) by the C++ side already or are told now. */
  while ((pcb = tcp_active_pcbs) != NULL) tcp_abort(pcb);
  while ((pcb = tcp_tw_pcbs) != NULL) tcp_abort(pcb);
  tcp_close(s->listener);
  udp_remove(s->udp);
  netif_remove(&s->netif);
  active = NULL;
  free(s);
}

int t2s_stack_input(t2s_stack* s, const uint8_t* packet, size_t len) {
  struct pbuf* p;
  if (len == 0 || len > 0xFFFF) return -1;
  p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
  if (p == NULL) return -1;
  memcpy(p->payload, packet, len);
  if (s->netif.input(p, &s->netif) != ERR_OK) {
    pbuf_free(p);
    return -1;
  }
  return 0;
}

uint32_t t2s_stack_check_timeouts(t2s_stack* s) {
  LWIP_UNUSED_ARG(s);
  sys_check_timeouts();
  return sys_timeouts_sleeptime();
}
