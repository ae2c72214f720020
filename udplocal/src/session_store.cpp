#include "session_store.hpp"

#include <sys/stat.h>

#ifndef _WIN32
#include <unistd.h>
#endif

#include <cerrno>
#include <cstring>

#include "udptun/runtime/small_file.hpp"

namespace udptun::udplocal {

SessionStore::SessionStore(std::string state_dir, runtime::Logger& log)
    : dir_(std::move(state_dir)), log_(log) {
  if (!dir_.empty()) path_ = dir_ + "/udp-local.state";
}

Status SessionStore::prepare() const {
  if (!enabled()) return Status::success();
#ifdef _WIN32
  return Status::success();  // Windows says who may write in ACLs, not in mode bits
#else
  if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::failure("cannot create the state directory " + dir_ + ": " +
                           std::strerror(errno));
  struct stat st {};
  if (lstat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::failure("the state directory " + dir_ + " is not a directory");
  if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)))
    return Status::failure("the state directory " + dir_ +
                           " must belong to us (or root) and be writable by its owner alone");
  return Status::success();
#endif
}

std::optional<protocol::SessionRecord> SessionStore::load() {
  if (!enabled()) return std::nullopt;
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0 && errno == ENOENT) return std::nullopt;  // first start
  runtime::FileLimits limits;
  limits.max_bytes = protocol::kMaxSessionRecordBytes;
  limits.no_follow = true;
  limits.owner_only_writable = true;
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
