// udp-local's session record on disk (STATE_DIR/udp-local.state): read once at start, written
// when the flows changed (at most once per sweep), when flow ids run past what the record
// reserves, and at stop. A kill -9 loses at most the last sweep's new flows; their ids are
// never reused, because the record reserves ids ahead of the ones in use.
#pragma once

#include <optional>
#include <string>

#include "udptun/protocol/session_record.hpp"
#include "udptun/protocol/status.hpp"
#include "udptun/runtime/log.hpp"

namespace udptun::udplocal {

class SessionStore {
 public:
  // How many flow ids past the highest in use a record reserves.
  static constexpr uint32_t kReservedIds = 1u << 16;

  SessionStore(std::string state_dir, runtime::Logger& log);
  // Before use: the directory is made (0700) when missing, and must then be a directory of
  // ours (or root's) that no one else may write: a record there decides which session and
  // flows this process takes over.
  Status prepare() const;
  bool enabled() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  // The record an earlier process left, if any and if sound (a defect is logged and the
  // record ignored: a new session is not worse than a wrong one).
  std::optional<protocol::SessionRecord> load();
  Status save(const protocol::SessionRecord& record);

 private:
  std::string dir_;
  std::string path_;
  runtime::Logger& log_;
};

}  // namespace udptun::udplocal
