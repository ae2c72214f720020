#include "handover_point.hpp"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "udptun/protocol/socket_api.hpp"

#include <cerrno>
#include <cstring>

namespace udptun::udpserver {

namespace {
bool fill_address(const std::string& path, sockaddr_un& sa) {
  if (path.empty() || path.size() >= sizeof sa.sun_path) return false;
  std::memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size());
  return true;
}
}  // namespace

Result<int> HandoverPoint::connect_to_predecessor() const {
  sockaddr_un sa;
  if (!fill_address(path_, sa)) {
    return Status::failure("the handover socket path is empty or too long");
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Status::failure(std::string("socket: ") + std::strerror(errno));
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int e = errno;
    ::close(fd);
    if (e == ENOENT || e == ECONNREFUSED) return kNoPredecessor;
    return Status::failure("cannot reach the predecessor at " + path_ + ": " + std::strerror(e));
  }
  ucred peer{};
  socklen_t len = sizeof peer;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 ||
      (peer.uid != geteuid() && peer.uid != 0)) {
    ::close(fd);
    return Status::failure("the process at " + path_ + " runs as another user (uid " +
                           std::to_string(peer.uid) + "): nothing taken from it");
  }
  return fd;
}

Status HandoverPoint::listen(Successor on_successor) {
  on_successor_ = std::move(on_successor);
  sockaddr_un sa;
  const std::string fresh = path_ + ".new";
  if (!fill_address(fresh, sa)) {
    return Status::failure("the handover socket path is empty or too long");
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Status::failure(std::string("socket: ") + std::strerror(errno));
  }
  unlink(fresh.c_str());
  // Bound, then renamed over the path: a successor never finds no socket there, and the
  // predecessor's (now nameless) one is not ours to remove.
  mode_t old = umask(0177);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 && ::listen(fd, 4) == 0 &&
            rename(fresh.c_str(), path_.c_str()) == 0;
  umask(old);
  struct stat st {};
  if (!ok || stat(path_.c_str(), &st) != 0) {
    int e = errno;
    ::close(fd);
    unlink(fresh.c_str());
    return Status::failure("cannot listen for a successor at " + path_ + ": " + std::strerror(e),
                           -e);
  }
  inode_ = st.st_ino;
  fd_ = fd;
  int rc = poll_.init(this, [&](uv_poll_t* p) { return uv_poll_init(loop_.get(), p, fd_); });
  if (rc == 0) rc = uv_poll_start(poll_.get(), UV_READABLE, on_readable);
  if (rc != 0) {
    close();
    return Status::failure(std::string("cannot listen for a successor: ") + uv_strerror(rc), rc);
  }
  return Status::success();
}

void HandoverPoint::on_readable(uv_poll_t* poll, int status, int) {
  auto* self = static_cast<HandoverPoint*>(poll->data);
  if (!self || status != 0) return;
  int fd = accept4(self->fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  ucred peer{};
  socklen_t len = sizeof peer;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 ||
      (peer.uid != geteuid() && peer.uid != 0)) {
    ::close(fd);  // the socket's mode keeps others out; this is the second lock
    return;
  }
  self->on_successor_(fd);
}

void HandoverPoint::close(bool remove_file) {
  if (fd_ < 0) return;
  poll_.close();
  ::close(fd_);
  fd_ = -1;
  if (!remove_file) return;
  // Ours only while it is the file we bound: a successor renames its own over it.
  struct stat st {};
  if (stat(path_.c_str(), &st) == 0 && st.st_ino == inode_) unlink(path_.c_str());
}

}  // namespace udptun::udpserver
