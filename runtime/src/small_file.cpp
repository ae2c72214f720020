#include "udptun/runtime/small_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace udptun::runtime {

bool read_small_file(const std::string& path, const FileLimits& limits, std::string& out,
                     std::string& error) {
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  bool ok = fstat(fd, &st) == 0;
  if (!ok) {
    error = "cannot read " + path + ": " + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    error = path + " is not a regular file";
    ok = false;
  } else if (static_cast<unsigned long long>(st.st_size) > limits.max_bytes) {
    error = path + " is too large (" + std::to_string(st.st_size) + " bytes, at most " +
            std::to_string(limits.max_bytes) + ")";
    ok = false;
  } else if (limits.owner_only_writable &&
             ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)))) {
    error = path + " must belong to root (or to us) and be writable by its owner only";
    ok = false;
  }
  out.clear();
  char buf[16384];
  while (ok) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "cannot read " + path + ": " + std::strerror(errno);
      ok = false;
    } else if (n == 0) {
      break;
    } else if (out.size() + static_cast<size_t>(n) > limits.max_bytes) {
      error = path + " is too large (more than " + std::to_string(limits.max_bytes) + " bytes)";
      ok = false;
    } else {
      out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return ok;
}

bool replace_small_file(const std::string& path, const std::string& body, bool sync,
                        std::string& error) {
  std::string tmp = path + ".tmp";
  unlink(tmp.c_str());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size()) &&
            (!sync || fsync(fd) == 0);
  int e = errno;
  if (fd >= 0) close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot write " + path + ": " + std::strerror(ok ? errno : e);
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace udptun::runtime
