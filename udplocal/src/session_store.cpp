#include "session_store.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "udptun/runtime/small_file.hpp"

namespace udptun::udplocal {

SessionStore::SessionStore(std::string state_dir, runtime::Logger& log) : log_(log) {
  if (!state_dir.empty()) path_ = state_dir + "/udp-local.state";
}

std::optional<protocol::SessionRecord> SessionStore::load() {
  if (!enabled()) return std::nullopt;
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0 && errno == ENOENT) return std::nullopt;  // first start
  runtime::FileLimits limits;
  limits.max_bytes = protocol::kMaxSessionRecordBytes;
  auto text = runtime::read_small_file(path_, limits);
  if (!text.ok()) {
    LOG_WARN(log_, "", "session record not used: %s", text.message().c_str());
    return std::nullopt;
  }
  auto record = protocol::decode_session_record(text.value());
  if (!record.ok()) {
    LOG_WARN(log_, "", "session record %s not used: %s", path_.c_str(), record.message().c_str());
    return std::nullopt;
  }
  return std::move(record).value();
}

Status SessionStore::save(const protocol::SessionRecord& record) {
  if (!enabled()) return Status::success();
  // No fsync: losing the record in a power cut costs a new session, not correctness.
  return runtime::replace_small_file(path_, protocol::encode_session_record(record), false)
      .within("session record");
}

}  // namespace udptun::udplocal
