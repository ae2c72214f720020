#include "udptun/runtime/carrier_socket.hpp"

#ifdef __linux__
#include <linux/tcp.h>  // struct tcp_info with bytes_acked and min_rtt (glibc's lacks them)
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#endif

namespace udptun::runtime::carrier_socket {

#ifdef __linux__

std::string set_notsent_lowat(int fd, size_t bytes) {
  int v = bytes > 0 ? static_cast<int>(bytes) : -1;  // -1: back to the kernel's default
  if (setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof v) == 0) return "";
  return std::string("TCP_NOTSENT_LOWAT: ") + std::strerror(errno);
}

std::string set_congestion(int fd, const std::string& name) {
  if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name.c_str(),
                 static_cast<socklen_t>(name.size())) == 0)
    return "";
  return "congestion control " + name + ": " + std::strerror(errno);
}

void ask_quick_ack(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

bool read_path_info(int fd, PathInfo& out) {
  struct tcp_info ti;
  std::memset(&ti, 0, sizeof ti);
  socklen_t len = sizeof ti;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return false;
  out.srtt_us = ti.tcpi_rtt;
  out.min_rtt_us = ti.tcpi_min_rtt;
  out.bytes_acked = ti.tcpi_bytes_acked;
  out.unacked_bytes = static_cast<uint64_t>(ti.tcpi_unacked) * ti.tcpi_snd_mss;
  out.total_retrans = ti.tcpi_total_retrans;
  return len >= offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof ti.tcpi_bytes_acked;
}

#else

std::string set_notsent_lowat(int, size_t) {
  return "TCP_NOTSENT_LOWAT: not on this system";
}
std::string set_congestion(int, const std::string& name) {
  return "congestion control " + name + ": not on this system";
}
void ask_quick_ack(int) {}
bool read_path_info(int, PathInfo&) {
  return false;
}

#endif

}  // namespace udptun::runtime::carrier_socket
