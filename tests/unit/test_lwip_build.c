/* The lwIP we build (pinned tarball + our lwipopts.h) initialises and works as an IP stack:
 * an ICMP echo request fed into a netif comes back out as a correct echo reply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* cmocka.h needs the headers above first. */
#include <cmocka.h>

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

static uint8_t sent[2048];
static size_t sent_len;
static int sent_count;

static err_t capture_output(struct netif* netif, struct pbuf* p, const ip4_addr_t* dst) {
  (void)netif;
  (void)dst;
  sent_len = pbuf_copy_partial(p, sent, sizeof sent, 0);
  sent_count++;
  return ERR_OK;
}

static err_t test_netif_init(struct netif* netif) {
  netif->name[0] = 't';
  netif->name[1] = 'u';
  netif->mtu = 1500;
  netif->output = capture_output;
  return ERR_OK;
}

static uint16_t checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += (uint32_t)(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return (uint16_t)~sum;
}

static void test_lwip_answers_icmp_echo(void** state) {
  (void)state;
  lwip_init();
  struct netif nif;
  ip4_addr_t addr, mask, gw;
  IP4_ADDR(&addr, 10, 0, 85, 1);
  IP4_ADDR(&mask, 255, 255, 255, 0);
  IP4_ADDR(&gw, 0, 0, 0, 0);
  assert_non_null(netif_add(&nif, &addr, &mask, &gw, NULL, test_netif_init, ip_input));
  netif_set_up(&nif);
  netif_set_link_up(&nif);

  uint8_t pkt[28 + 8] = {0x45, 0,    0,  sizeof pkt, 0x12, 0x34, 0,   0,   64,  1,   0,   0,
                         10,   0,    85, 2,          10,   0,    85,  1,   8,   0,   0,   0,
                         0xBE, 0xEF, 0,  1,          'p',  'i',  'n', 'g', '1', '2', '3', '4'};
  uint16_t c = checksum(pkt, 20);
  pkt[10] = (uint8_t)(c >> 8);
  pkt[11] = (uint8_t)c;
  c = checksum(pkt + 20, sizeof pkt - 20);
  pkt[22] = (uint8_t)(c >> 8);
  pkt[23] = (uint8_t)c;

  struct pbuf* p = pbuf_alloc(PBUF_RAW, sizeof pkt, PBUF_POOL);
  assert_non_null(p);
  assert_int_equal(pbuf_take(p, pkt, sizeof pkt), ERR_OK);
  assert_int_equal(nif.input(p, &nif), ERR_OK);

  assert_int_equal(sent_count, 1);
  assert_int_equal(sent_len, sizeof pkt);
  assert_int_equal(sent[9], 1);                 /* ICMP */
  assert_memory_equal(sent + 12, pkt + 16, 4);  /* source = our address */
  assert_memory_equal(sent + 16, pkt + 12, 4);  /* back to the sender */
  assert_int_equal(sent[20], 0);                /* echo reply */
  assert_memory_equal(sent + 24, pkt + 24, 12); /* id, seq and payload echoed */
  assert_int_equal(checksum(sent, 20), 0);      /* generated checksums are valid */
  assert_int_equal(checksum(sent + 20, sent_len - 20), 0);
  netif_remove(&nif);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_lwip_answers_icmp_echo)};
  return cmocka_run_group_tests_name("lwip_build", tests, NULL, NULL);
}
