// Linux TUN devices: /dev/net/tun by name, or a descriptor handed over (by a parent, or
// Android's VpnService). With the kernel's virtio-net header where it has one, so that TCP
// leaves in 64 KiB segments (TSO) and checksums are left to the kernel.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "packet_device.hpp"

namespace udptun::tun2socks {

TunDevice::TunDevice(runtime::EventLoop& loop, std::string name, int fd)
    : loop_(loop), name_(std::move(name)), fd_(fd), owns_fd_(fd < 0) {}

TunDevice::~TunDevice() {
  stop();
}

Status TunDevice::start(Receiver receiver) {
  receiver_ = std::move(receiver);
  if (fd_ < 0) {
    fd_ = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd_ < 0) {
      int e = errno;
      return Status::failure(std::string("cannot open /dev/net/tun: ") + std::strerror(e), -e);
    }
    ifreq ifr{};
    // With a virtio-net header on every packet the kernel may hand us TCP as 64 KiB
    // super-packets (TSO) with checksums left partial: one read and one lwIP input instead of
    // ~45. Older kernels or drivers without it: plain packets.
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
    std::strncpy(ifr.ifr_name, name_.c_str(), IFNAMSIZ - 1);
    bool attached = ioctl(fd_, TUNSETIFF, &ifr) == 0;
    if (!attached) {
      ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
      attached = ioctl(fd_, TUNSETIFF, &ifr) == 0;
    }
    if (!attached) {
      int e = errno;
      close(fd_);
      fd_ = -1;
      return Status::failure("cannot create TUN device " + name_ + ": " + std::strerror(e), -e);
    }
    name_ = ifr.ifr_name;
    raise_queue_length();
  } else if (name_.empty()) {
    name_ = "fd:" + std::to_string(fd_);
  }
  setup_offloads();
  int flags = fcntl(fd_, F_GETFL);
  fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
  buffer_.resize(kVnetHeader + 65536);
  int rc = poll_.init(this, [&](uv_poll_t* p) { return uv_poll_init(loop_.get(), p, fd_); });
  if (rc == 0) rc = uv_poll_start(poll_.get(), UV_READABLE, on_readable);
  if (rc != 0)
    return Status::failure(std::string("cannot watch the TUN device: ") + uv_strerror(rc), rc);
  return Status::success();
}

void TunDevice::raise_queue_length() {
  // The kernel's default (500 packets) overflows in the bursts an app's UDP sender makes
  // while our thread is not running (2 cores shared with the app): 4096 absorbs them.
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name_.c_str(), IFNAMSIZ - 1);
  if (ioctl(sock, SIOCGIFTXQLEN, &ifr) == 0 && ifr.ifr_qlen < static_cast<int>(kTxQueueLength)) {
    ifr.ifr_qlen = static_cast<int>(kTxQueueLength);
    ioctl(sock, SIOCSIFTXQLEN, &ifr);
  }
  close(sock);
}

void TunDevice::setup_offloads() {
  ifreq ifr{};
  if (ioctl(fd_, TUNGETIFF, &ifr) != 0 || !(ifr.ifr_flags & IFF_VNET_HDR)) return;
  int size = static_cast<int>(kVnetHeader);
  if (ioctl(fd_, TUNSETVNETHDRSZ, &size) != 0) return;
  vnet_header_ = true;
  // Checksums may stay partial (lwIP does not check them) and TCP may come as TSO
  // super-packets; never UDP fragmentation offload (lwIP wants real datagrams).
  if (ioctl(fd_, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) == 0) tso_ = true;
}

void TunDevice::on_readable(uv_poll_t* p, int status, int) {
  auto* self = static_cast<TunDevice*>(p->data);
  if (!self || status < 0) return;
  const size_t skip = self->vnet_header_ ? kVnetHeader : 0;
  // Bounded per wake-up, so the rest of the loop (sockets, timers) gets its turn.
  for (int i = 0; i < 256; ++i) {
    ssize_t n = read(self->fd_, self->buffer_.data(), self->buffer_.size());
    if (n <= static_cast<ssize_t>(skip)) return;
    // The virtio-net header only says how the kernel cut corners (partial checksum, GSO):
    // the IP packet after it is whole and its lengths are right, which is all lwIP needs.
    self->receiver_(self->buffer_.data() + skip, static_cast<size_t>(n) - skip);
  }
}

bool TunDevice::send(const struct iovec* iov, int iovcnt) {
  if (fd_ < 0) return false;
  if (!vnet_header_) return writev(fd_, iov, iovcnt) > 0;
  // Our packets are whole with full checksums: a zero header says exactly that.
  static const uint8_t kPlain[kVnetHeader] = {};
  struct iovec all[kMaxIov + 1];
  if (iovcnt > static_cast<int>(kMaxIov)) return false;
  all[0].iov_base = const_cast<uint8_t*>(kPlain);
  all[0].iov_len = kVnetHeader;
  for (int i = 0; i < iovcnt; ++i) all[i + 1] = iov[i];
  return writev(fd_, all, iovcnt + 1) > 0;
}

void TunDevice::stop() {
  poll_.close();
  if (owns_fd_ && fd_ >= 0) close(fd_);
  fd_ = -1;
}

}  // namespace udptun::tun2socks
