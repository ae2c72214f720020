#include "udptun/protocol/server_handover.hpp"

#include "record_text.hpp"

namespace udptun::protocol {

namespace {
// Written as version 1 (= 1.0); read: any 1.x (see docs/PROTOCOL.md, "Records across
// versions").
constexpr std::string_view kHeader = "udptun-server-handover 1";
constexpr std::string_view kName = "udptun-server-handover";
constexpr uint32_t kMajor = 1, kMinor = 0;
}  // namespace

std::string encode_handover_record(const HandoverRecord& r) {
  std::string out(kHeader);
  out += "\n";
  for (const auto& l : r.listeners)
    out += "listener " + std::to_string(l.fd_index) + " " + format_address(l.address) + "\n";
  for (const auto& s : r.sessions) {
    out += "session " + record_text::format_session_id(s.id) + "\n";
    for (const auto& f : s.flows) {
      out += "flow " + std::to_string(f.id) + " " + std::to_string(f.fd_index) + " " +
             format_address(f.target) + " " + format_address(f.target_ip) + " " +
             (f.dns_only ? "1" : "0") + "\n";
    }
  }
  return out;
}

Result<HandoverRecord> decode_handover_record(std::string_view text, size_t descriptors) {
  if (text.size() > kMaxHandoverRecordBytes || descriptors > kMaxHandoverDescriptors)
    return Status::failure("larger than a handover can be");
  HandoverRecord r;
  std::vector<bool> used(descriptors, false);
  record_text::LineReader lines(text, kName, kMajor, kMinor, "udp-server handover");
  auto fail = [&](const char* why) { return lines.fail(why); };
  auto take_fd = [&](std::string_view word, uint32_t& index) {
    if (!record_text::parse_u32(word, index) || index >= descriptors || used[index]) return false;
    used[index] = true;
    return true;
  };
  std::vector<std::string_view> w;
  while (lines.next(w)) {
    if (lines.known(w, "listener", 3)) {
      HandoverRecord::Listener l;
      auto a = parse_address_text(w[2]);
      if (!take_fd(w[1], l.fd_index)) return fail("bad listener descriptor");
      if (!a.address || !a.address->is_ip()) return fail("bad listener address");
      l.address = *a.address;
      r.listeners.push_back(l);
    } else if (lines.known(w, "session", 2)) {
      HandoverRecord::Session s;
      if (!record_text::parse_session_id(w[1], s.id)) return fail("bad session id");
      r.sessions.push_back(std::move(s));
    } else if (lines.known(w, "flow", 6)) {
      if (r.sessions.empty()) return fail("a flow before any session");
      HandoverRecord::Flow f;
      if (!record_text::parse_u32(w[1], f.id) || f.id == 0) return fail("bad flow id");
      if (!take_fd(w[2], f.fd_index)) return fail("bad flow descriptor");
      auto target = parse_address_text(w[3]);
      auto ip = parse_address_text(w[4]);
      if (!target.address || target.address->port == 0) return fail("bad flow target");
      if (!ip.address || !ip.address->is_ip()) return fail("bad flow target address");
      if (w[5] != "0" && w[5] != "1") return fail("bad flow DNS mark");
      f.target = *target.address;
      f.target_ip = *ip.address;
      f.dns_only = w[5] == "1";
      for (const auto& other : r.sessions.back().flows) {
        if (other.id == f.id) return fail("a flow id twice in one session");
      }
      r.sessions.back().flows.push_back(f);
    } else if (!lines.newer()) {
      return fail("unknown line");
    }
  }
  if (!lines.error().empty()) return Status::failure(lines.error());
  if (lines.empty()) return fail("empty");
  return r;
}

}  // namespace udptun::protocol
