#include "udptun/protocol/session_record.hpp"

#include <cstdio>

#include "record_text.hpp"

namespace udptun::protocol {

namespace {

// Written as version 1 (= 1.0); read: any 1.x (docs/PROTOCOL.md, "Records across versions").
constexpr std::string_view kRecordHeader = "udptun-local-state 1";
constexpr std::string_view kName = "udptun-local-state";
constexpr uint32_t kMajor = 1, kMinor = 0;

bool valid_origin(std::string_view o) {
  if (o.empty() || o.size() > 300) return false;
  for (char c : o) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

}  // namespace

std::string encode_session_record(const SessionRecord& r) {
  std::string out(kRecordHeader);
  out += "\nsession " + record_text::format_session_id(r.session);
  out += "\nnext-flow " + std::to_string(r.next_flow_id) + "\n";
  size_t n = 0;
  for (const auto& f : r.flows) {
    if (++n > kMaxRecordedFlows) break;
    out += "flow " + std::to_string(f.id) + " " + f.origin + " " + format_address(f.source) + " " +
           format_address(f.target) + "\n";
  }
  return out;
}

Result<SessionRecord> decode_session_record(std::string_view text) {
  if (text.size() > kMaxSessionRecordBytes)
    return Status::failure("larger than a session record can be");
  SessionRecord r;
  bool have_session = false, have_next = false;
  record_text::LineReader lines(text, kName, kMajor, kMinor, "udp-local state file");
  auto fail = [&](const char* why) { return lines.fail(why); };
  std::vector<std::string_view> w;
  while (lines.next(w)) {
    if (lines.known(w, "session", 2)) {
      if (have_session || !record_text::parse_session_id(w[1], r.session))
        return fail("bad session line");
      have_session = true;
    } else if (lines.known(w, "next-flow", 2)) {
      if (have_next || !record_text::parse_u32(w[1], r.next_flow_id) || r.next_flow_id == 0)
        return fail("bad next-flow line");
      have_next = true;
    } else if (lines.known(w, "flow", 5)) {
      if (r.flows.size() >= kMaxRecordedFlows) return fail("too many flows");
      SessionRecord::Flow f;
      if (!record_text::parse_u32(w[1], f.id) || f.id == 0) return fail("bad flow id");
      if (!valid_origin(w[2])) return fail("bad flow origin");
      f.origin = std::string(w[2]);
      auto source = parse_address_text(w[3]);
      auto target = parse_address_text(w[4]);
      if (!source.address || !source.address->is_ip()) return fail("bad flow source");
      if (!target.address || target.address->port == 0) return fail("bad flow target");
      f.source = *source.address;
      f.target = *target.address;
      r.flows.push_back(std::move(f));
    } else if (!lines.newer()) {
      return fail("unknown line");
    }
  }
  if (!lines.error().empty()) return Status::failure(lines.error());
  if (lines.empty()) return fail("empty");
  if (!have_session || !have_next) return fail("no session or next-flow line");
  return r;
}

}  // namespace udptun::protocol
