// udp-local's session record (its state file), read back after a restart. Invariants: what
// decodes re-encodes to a record that decodes to the same thing.
#include <string>

#include "fuzz_check.hpp"
#include "udptun/protocol/session_record.hpp"

using namespace udptun::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = decode_session_record(text);
  if (!decoded.ok()) {
    FUZZ_CHECK(!decoded.message().empty());
    return 0;
  }
  const SessionRecord& r = decoded.value();
  FUZZ_CHECK(r.next_flow_id != 0 && r.flows.size() <= kMaxRecordedFlows);
  auto redecoded = decode_session_record(encode_session_record(r));
  FUZZ_CHECK(redecoded.ok());
  const SessionRecord& again = redecoded.value();
  FUZZ_CHECK(again.session == r.session && again.next_flow_id == r.next_flow_id &&
             again.flows.size() == r.flows.size());
  for (size_t i = 0; i < r.flows.size(); ++i) {
    FUZZ_CHECK(again.flows[i].id == r.flows[i].id && again.flows[i].origin == r.flows[i].origin &&
               again.flows[i].source == r.flows[i].source &&
               again.flows[i].target == r.flows[i].target);
  }
  return 0;
}
