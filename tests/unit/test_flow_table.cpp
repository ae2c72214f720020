// udp-local's flow table: one flow per (front, app source, address family) — the NAT mapping
// — with a domain target on a flow of its own; restored flows keep their ids; idle and
// least-recent choices.
#include "cmocka_support.hpp"
#include "flow_table.hpp"

using udptun::protocol::Address;
using udptun::protocol::ByteView;
using udptun::udplocal::FlowOrigin;
using udptun::udplocal::FlowTable;
using udptun::udplocal::LocalFlow;

namespace {
struct Origin : FlowOrigin {
  void deliver(LocalFlow&, ByteView, const Address&) override {}
};
Address v4(uint8_t last, uint16_t port) {
  const uint8_t ip[4] = {192, 0, 2, last};
  return Address::ipv4(ip, port);
}
Address v6(uint8_t last, uint16_t port) {
  uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8};
  ip[15] = last;
  return Address::ipv6(ip, port);
}
}  // namespace

static void test_one_flow_per_source_and_family(void**) {
  FlowTable t(100);
  Origin front, other_front;
  Address app = v4(100, 40000);
  LocalFlow* a = t.create(&front, app, v4(1, 3478), 0);
  assert_non_null(a);
  // Another IPv4 target of the same app source: the same mapping.
  assert_ptr_equal(t.find(&front, app, v4(2, 9999)), a);
  // IPv6, a name, another source, another front: each a mapping of its own.
  assert_null(t.find(&front, app, v6(1, 3478)));
  auto name = Address::from_domain("example.com", 53);
  assert_null(t.find(&front, app, *name));
  assert_null(t.find(&front, v4(100, 40001), v4(1, 3478)));
  assert_null(t.find(&other_front, app, v4(1, 3478)));
  LocalFlow* n = t.create(&front, app, *name, 0);
  assert_non_null(n);
  assert_ptr_equal(t.find(&front, app, *name), n);
  assert_null(t.find(&front, app, *Address::from_domain("example.org", 53)));
  assert_true(n->dns_only);
  assert_false(a->dns_only);
}

static void test_restore_keeps_ids_and_refuses_clashes(void**) {
  FlowTable t(3);
  Origin front;
  t.set_next_id(70'000);
  LocalFlow* r = t.restore(&front, 7, v4(100, 1), v4(1, 1), 0);
  assert_non_null(r);
  assert_int_equal(r->id, 7);
  assert_null(t.restore(&front, 7, v4(100, 2), v4(1, 1), 0));  // the id is taken
  assert_null(t.restore(&front, 8, v4(100, 1), v4(3, 3), 0));  // the mapping exists
  LocalFlow* fresh = t.create(&front, v4(100, 3), v4(1, 1), 5);
  assert_int_equal(fresh->id, 70'000);
  assert_int_equal(t.least_recent(), 7);
  assert_non_null(t.create(&front, v4(100, 4), v4(1, 1), 5));
  assert_true(t.full());
  assert_null(t.create(&front, v4(100, 5), v4(1, 1), 5));
  auto idle = t.idle(130'000, 120'000, 15'000);
  assert_int_equal(idle.size(), 3);
  t.remove(7);
  assert_null(t.by_id(7));
  assert_null(t.find(&front, v4(100, 1), v4(1, 1)));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_flow_per_source_and_family),
      cmocka_unit_test(test_restore_keeps_ids_and_refuses_clashes),
  };
  return cmocka_run_group_tests_name("flow_table", tests, nullptr, nullptr);
}
