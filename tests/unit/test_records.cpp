// The records that cross a process boundary between versions (docs/PROTOCOL.md, "Records
// across versions"): udp-server's planned-restart record and udp-local's state record. Each
// is kept here as this version wrote it (version 1); the test holds that it is read, that
// this version still writes it byte for byte (a change must choose a version), that a newer
// minor version's additions are skipped, and that another major version is refused.
#include <string>

#include "cmocka_support.hpp"
#include "udptun/protocol/server_handover.hpp"
#include "udptun/protocol/session_record.hpp"

using namespace udptun::protocol;

// Written by udp-server 2026-12-07 (encode_handover_record): two listeners, two sessions, a
// flow to a name that only spoke DNS and one to an IPv6 address.
static const char kHandoverV1[] =
    "udptun-server-handover 1\n"
    "listener 0 0.0.0.0:7001\n"
    "listener 1 [::]:7001\n"
    "session 00112233445566778899aabbccddeeff\n"
    "flow 7 2 dns.example:53 192.0.2.53:53 1\n"
    "flow 9 3 [2001:db8::1]:3478 [2001:db8::1]:3478 0\n"
    "session ffeeddccbbaa99887766554433221100\n";

// Written by udp-local 2026-12-07 (encode_session_record): a forward's flow and an
// in-process one.
static const char kLocalStateV1[] =
    "udptun-local-state 1\n"
    "session 0123456789abcdef0123456789abcdef\n"
    "next-flow 12\n"
    "flow 3 forward:127.0.0.1:5353 127.0.0.1:40000 192.0.2.1:53\n"
    "flow 11 in-process 10.0.85.1:51000 [2001:db8::7]:443\n";

static HandoverRecord handover_sample() {
  HandoverRecord r;
  r.listeners.push_back({0, *parse_address_text("0.0.0.0:7001").address});
  r.listeners.push_back({1, *parse_address_text("[::]:7001").address});
  HandoverRecord::Session a;
  for (int i = 0; i < 16; ++i) a.id[static_cast<size_t>(i)] = static_cast<uint8_t>(i * 0x11);
  a.flows.push_back({7, 2, *parse_address_text("dns.example:53").address,
                     *parse_address_text("192.0.2.53:53").address, true});
  a.flows.push_back({9, 3, *parse_address_text("[2001:db8::1]:3478").address,
                     *parse_address_text("[2001:db8::1]:3478").address, false});
  HandoverRecord::Session b;
  for (int i = 0; i < 16; ++i) b.id[static_cast<size_t>(i)] = static_cast<uint8_t>(0xff - i * 0x11);
  r.sessions = {a, b};
  return r;
}

static void test_handover_v1_is_read_and_still_written(void**) {
  auto r = decode_handover_record(kHandoverV1, 4);
  if (!r.ok()) fail_msg("%s", r.status().message().c_str());
  assert_int_equal(r.value().listeners.size(), 2);
  assert_int_equal(r.value().sessions.size(), 2);
  assert_int_equal(r.value().sessions[0].flows.size(), 2);
  assert_true(r.value().sessions[0].flows[0].dns_only);
  assert_string_equal(encode_handover_record(handover_sample()).c_str(), kHandoverV1);
}

static void test_handover_newer_minor_is_read_other_major_refused(void**) {
  // A 1.1 writer added a line kind and a word at the end of a flow line: skipped.
  std::string v11 = kHandoverV1;
  v11.replace(0, std::string("udptun-server-handover 1").size(), "udptun-server-handover 1.1");
  v11.insert(v11.find("flow 9"), "quota 7 1000\n");
  v11.insert(v11.find(" 0\nsession ff"), " 0 fresh");
  auto r = decode_handover_record(v11, 4);
  if (!r.ok()) fail_msg("%s", r.status().message().c_str());
  assert_int_equal(r.value().sessions[0].flows.size(), 2);
  // This version's own lines stay strict: an unknown line in a 1.0 record is an error.
  std::string v10 = kHandoverV1;
  v10 += "quota 7 1000\n";
  assert_false(decode_handover_record(v10, 4).ok());
  std::string v2 = kHandoverV1;
  v2.replace(0, std::string("udptun-server-handover 1").size(), "udptun-server-handover 2");
  assert_false(decode_handover_record(v2, 4).ok());
}

static void test_local_state_v1_is_read_and_still_written(void**) {
  auto r = decode_session_record(kLocalStateV1);
  if (!r.ok()) fail_msg("%s", r.status().message().c_str());
  assert_int_equal(r.value().next_flow_id, 12);
  assert_int_equal(r.value().flows.size(), 2);
  assert_string_equal(r.value().flows[1].origin.c_str(), "in-process");
  assert_string_equal(encode_session_record(r.value()).c_str(), kLocalStateV1);
  std::string v13 = kLocalStateV1;
  v13.replace(0, std::string("udptun-local-state 1").size(), "udptun-local-state 1.3");
  v13 += "lanes 4\n";
  v13.replace(v13.find("192.0.2.1:53\n"), 13, "192.0.2.1:53 sequenced\n");
  auto newer = decode_session_record(v13);
  if (!newer.ok()) fail_msg("%s", newer.status().message().c_str());
  assert_int_equal(newer.value().flows.size(), 2);
  std::string v2 = kLocalStateV1;
  v2.replace(0, std::string("udptun-local-state 1").size(), "udptun-local-state 2.0");
  assert_false(decode_session_record(v2).ok());
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handover_v1_is_read_and_still_written),
      cmocka_unit_test(test_handover_newer_minor_is_read_other_major_refused),
      cmocka_unit_test(test_local_state_v1_is_read_and_still_written),
  };
  return cmocka_run_group_tests_name("records", tests, nullptr, nullptr);
}
