// udp-server's handover record, read by the successor process. The first input byte is how
// many descriptors "arrived" beside the record. Invariants: a decoded record uses each
// descriptor index at most once, and re-encodes to a record that decodes the same.
#include <string>

#include "fuzz_check.hpp"
#include "udptun/protocol/server_handover.hpp"

using namespace udptun::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t descriptors = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto decoded = decode_handover_record(text, descriptors);
  if (!decoded.ok()) {
    FUZZ_CHECK(!decoded.message().empty());
    return 0;
  }
  const HandoverRecord& r = decoded.value();
  size_t used = r.listeners.size();
  for (const auto& s : r.sessions) used += s.flows.size();
  FUZZ_CHECK(used <= descriptors);
  auto redecoded = decode_handover_record(encode_handover_record(r), descriptors);
  FUZZ_CHECK(redecoded.ok());
  const HandoverRecord& again = redecoded.value();
  FUZZ_CHECK(again.listeners.size() == r.listeners.size());
  FUZZ_CHECK(again.sessions.size() == r.sessions.size());
  for (size_t i = 0; i < r.sessions.size(); ++i) {
    FUZZ_CHECK(again.sessions[i].id == r.sessions[i].id);
    FUZZ_CHECK(again.sessions[i].flows.size() == r.sessions[i].flows.size());
    for (size_t j = 0; j < r.sessions[i].flows.size(); ++j) {
      const auto &a = again.sessions[i].flows[j], &b = r.sessions[i].flows[j];
      FUZZ_CHECK(a.id == b.id && a.fd_index == b.fd_index && a.target == b.target &&
                 a.target_ip == b.target_ip && a.dns_only == b.dns_only);
    }
  }
  return 0;
}
