#include "udptun/runtime/small_file.hpp"

#include <sys/stat.h>
#include <uv.h>
#ifndef _WIN32
#include <unistd.h>
#endif

#include <string>

// libuv's synchronous file calls (no loop, no callback): the same code on every platform.
// Where a flag has no meaning (O_NOFOLLOW, O_NONBLOCK on Windows) libuv makes it 0.
namespace udptun::runtime {
namespace {

// One synchronous uv_fs request, cleaned up whatever happens.
struct FsCall {
  uv_fs_t req{};
  ~FsCall() { uv_fs_req_cleanup(&req); }
};

std::string reason(long long rc) {
  return uv_strerror(static_cast<int>(rc));
}

bool writable_by_others(const uv_stat_t& st) {
#ifdef _WIN32
  (void)st;
  return false;  // Windows says who may write in ACLs, not in these bits
#else
  return (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH));
#endif
}

}  // namespace

Result<std::string> read_small_file(const std::string& path, const FileLimits& limits) {
  FsCall open_call;
  int fd = uv_fs_open(nullptr, &open_call.req, path.c_str(),
                      UV_FS_O_RDONLY | UV_FS_O_NONBLOCK | UV_FS_O_NOCTTY |
                          (limits.no_follow ? UV_FS_O_NOFOLLOW : 0),
                      0, nullptr);
  if (fd < 0) return Status::failure("cannot read " + path + ": " + reason(fd), fd);
  FsCall stat_call;
  int rc = uv_fs_fstat(nullptr, &stat_call.req, fd, nullptr);
  const uv_stat_t& st = stat_call.req.statbuf;
  std::string error;
  bool ok = rc == 0;
  if (!ok) {
    error = "cannot read " + path + ": " + reason(rc);
  } else if ((st.st_mode & S_IFMT) != S_IFREG) {
    error = path + " is not a regular file";
    ok = false;
  } else if (st.st_size > limits.max_bytes) {
    error = path + " is too large (" + std::to_string(st.st_size) + " bytes, at most " +
            std::to_string(limits.max_bytes) + ")";
    ok = false;
  } else if (limits.owner_only_writable && writable_by_others(st)) {
    error = path + " must belong to root (or to us) and be writable by its owner only";
    ok = false;
  }
  std::string out;
  char chunk[16384];
  while (ok) {
    FsCall read_call;
    uv_buf_t buf = uv_buf_init(chunk, sizeof chunk);
    int n = uv_fs_read(nullptr, &read_call.req, fd, &buf, 1, -1, nullptr);
    if (n == UV_EINTR) continue;
    if (n < 0) {
      error = "cannot read " + path + ": " + reason(n);
      ok = false;
    } else if (n == 0) {
      break;
    } else if (out.size() + static_cast<size_t>(n) > limits.max_bytes) {
      error = path + " is too large (more than " + std::to_string(limits.max_bytes) + " bytes)";
      ok = false;
    } else {
      out.append(chunk, static_cast<size_t>(n));
    }
  }
  FsCall close_call;
  uv_fs_close(nullptr, &close_call.req, fd, nullptr);
  if (!ok) return Status::failure(error);
  return out;
}

Status replace_small_file(const std::string& path, const std::string& body, bool sync) {
  std::string tmp = path + ".tmp";
  {
    FsCall unlink_call;
    uv_fs_unlink(nullptr, &unlink_call.req, tmp.c_str(), nullptr);
  }
  FsCall open_call;
  int fd =
      uv_fs_open(nullptr, &open_call.req, tmp.c_str(),
                 UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_EXCL | UV_FS_O_NOFOLLOW, 0600, nullptr);
  int rc = fd;
  if (fd >= 0) {
    FsCall write_call;
    uv_buf_t buf = uv_buf_init(const_cast<char*>(body.data()), static_cast<unsigned>(body.size()));
    rc = uv_fs_write(nullptr, &write_call.req, fd, &buf, 1, -1, nullptr);
    if (rc >= 0 && static_cast<size_t>(rc) != body.size()) rc = UV_EIO;
    if (rc >= 0 && sync) {
      FsCall sync_call;
      rc = uv_fs_fsync(nullptr, &sync_call.req, fd, nullptr);
    }
    FsCall close_call;
    uv_fs_close(nullptr, &close_call.req, fd, nullptr);
  }
  if (rc >= 0) {
    FsCall rename_call;
    rc = uv_fs_rename(nullptr, &rename_call.req, tmp.c_str(), path.c_str(), nullptr);
  }
  if (rc < 0) {
    FsCall unlink_call;
    uv_fs_unlink(nullptr, &unlink_call.req, tmp.c_str(), nullptr);
    return Status::failure("cannot write " + path + ": " + reason(rc), rc);
  }
  return Status::success();
}

}  // namespace udptun::runtime
