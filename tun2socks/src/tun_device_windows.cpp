// Windows has no TUN device in the kernel: a Windows app drives tun2socks through the packet
// callbacks (tun2socks_push_packet / packet_out), feeding them from a Wintun adapter it
// opened itself (README, "Inside an app on Windows"). A TUN name or descriptor is refused.
#include "packet_device.hpp"

namespace udptun::tun2socks {

TunDevice::TunDevice(runtime::EventLoop& loop, std::string name, int fd)
    : loop_(loop), name_(std::move(name)), fd_(fd), owns_fd_(false) {}

TunDevice::~TunDevice() = default;

Status TunDevice::start(Receiver) {
  return Status::failure(
      "TUN devices are not supported on Windows: feed packets through the packet callbacks",
      UV_ENOTSUP);
}

bool TunDevice::send(const struct iovec*, int) {
  return false;
}

void TunDevice::stop() {}

}  // namespace udptun::tun2socks
