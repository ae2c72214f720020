// Linux: the TUN through /dev/net/tun ioctls (made persistent so tun2socks can attach by
// name), addresses and routes through rtnetlink. No shelling out to `ip`.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "routing_platform.hpp"

namespace udptun::controller {

namespace {

// One rtnetlink request and its acknowledgement.
class Netlink {
 public:
  Netlink() { fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE); }
  ~Netlink() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  struct Message {
    alignas(nlmsghdr) char buf[1024];
    nlmsghdr* h() { return reinterpret_cast<nlmsghdr*>(buf); }
    template <class T>
    T* body() {
      return static_cast<T*>(NLMSG_DATA(h()));
    }
    void attr(unsigned short type, const void* data, size_t len) {
      auto* a = reinterpret_cast<rtattr*>(buf + NLMSG_ALIGN(h()->nlmsg_len));
      a->rta_type = type;
      a->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
      std::memcpy(RTA_DATA(a), data, len);
      h()->nlmsg_len = NLMSG_ALIGN(h()->nlmsg_len) + RTA_ALIGN(a->rta_len);
    }
  };
  template <class T>
  static Message make(unsigned short type, unsigned short flags) {
    Message m{};
    m.h()->nlmsg_len = NLMSG_LENGTH(sizeof(T));
    m.h()->nlmsg_type = type;
    m.h()->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    return m;
  }
  // 0, or a negative errno from the kernel's answer.
  int transact(Message& m) {
    m.h()->nlmsg_seq = ++seq_;
    if (send(fd_, m.buf, m.h()->nlmsg_len, 0) < 0) return -errno;
    char reply[8192];
    while (true) {
      ssize_t n = recv(fd_, reply, sizeof reply, 0);
      if (n < 0) return -errno;
      for (auto* h = reinterpret_cast<nlmsghdr*>(reply); NLMSG_OK(h, static_cast<unsigned>(n));
           h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type == NLMSG_ERROR) return static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
      }
    }
  }
  // The main table's IPv4 default route: gateway (may be empty) and output device index.
  bool default_route(std::string& gateway, int& oif) {
    Message m = make<rtmsg>(RTM_GETROUTE, NLM_F_DUMP);
    m.h()->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    m.body<rtmsg>()->rtm_family = AF_INET;
    m.h()->nlmsg_seq = ++seq_;
    if (send(fd_, m.buf, m.h()->nlmsg_len, 0) < 0) return false;
    bool found = false;
    char reply[32768];
    while (true) {
      ssize_t n = recv(fd_, reply, sizeof reply, 0);
      if (n <= 0) return found;
      for (auto* h = reinterpret_cast<nlmsghdr*>(reply); NLMSG_OK(h, static_cast<unsigned>(n));
           h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) return found;
        auto* r = static_cast<rtmsg*>(NLMSG_DATA(h));
        if (found || r->rtm_dst_len != 0 || r->rtm_table != RT_TABLE_MAIN) continue;
        int len = static_cast<int>(RTM_PAYLOAD(h));
        std::string gw;
        int dev = 0;
        for (auto* a = RTM_RTA(r); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
          if (a->rta_type == RTA_GATEWAY) {
            char text[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, RTA_DATA(a), text, sizeof text);
            gw = text;
          } else if (a->rta_type == RTA_OIF) {
            std::memcpy(&dev, RTA_DATA(a), sizeof dev);
          }
        }
        if (dev) {
          gateway = gw;
          oif = dev;
          found = true;
        }
      }
    }
  }

 private:
  int fd_ = -1;
  unsigned seq_ = 0;
};

int route_v4(Netlink& nl, bool add, const std::string& dst, int prefix, const std::string& gateway,
             int oif) {
  auto m =
      Netlink::make<rtmsg>(add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
  rtmsg* r = m.body<rtmsg>();
  r->rtm_family = AF_INET;
  r->rtm_dst_len = static_cast<unsigned char>(prefix);
  r->rtm_table = RT_TABLE_MAIN;
  r->rtm_protocol = RTPROT_STATIC;
  r->rtm_scope = gateway.empty() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  r->rtm_type = RTN_UNICAST;
  in_addr a{};
  inet_pton(AF_INET, dst.c_str(), &a);
  m.attr(RTA_DST, &a, 4);
  if (!gateway.empty()) {
    in_addr g{};
    inet_pton(AF_INET, gateway.c_str(), &g);
    m.attr(RTA_GATEWAY, &g, 4);
  }
  m.attr(RTA_OIF, &oif, sizeof oif);
  return nl.transact(m);
}

std::string errno_text(int negative_errno) {
  return std::strerror(-negative_errno);
}

}  // namespace

class LinuxRouting : public RoutingPlatform {
 public:
  std::string configure(const RoutingRequest& req, RoutingState& state) override {
    Netlink nl;
    if (!nl.ok()) return "cannot open rtnetlink";
    int old_oif = 0;
    if (!nl.default_route(state.gateway, old_oif)) return "no default route to keep the proxy on";
    char name[IF_NAMESIZE] = "";
    if_indextoname(static_cast<unsigned>(old_oif), name);
    state.gateway_dev = name;

    // The TUN: created persistent, so tun2socks can attach to it by name later.
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return std::string("cannot open /dev/net/tun: ") + std::strerror(errno);
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, req.tun_name.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
      int e = errno;
      close(fd);
      return "cannot create TUN device " + req.tun_name + ": " + std::strerror(e);
    }
    close(fd);
    state.tun_name = req.tun_name;
    state.tun_created = true;
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifr = ifreq{};
    std::strncpy(ifr.ifr_name, req.tun_name.c_str(), IFNAMSIZ - 1);
    ifr.ifr_mtu = static_cast<int>(req.mtu);
    ioctl(sock, SIOCSIFMTU, &ifr);
    auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, req.router_ip.ip.data(), 4);
    int rc = ioctl(sock, SIOCSIFADDR, &ifr);
    sin->sin_addr.s_addr = htonl(0xFFFFFF00);
    if (rc == 0) rc = ioctl(sock, SIOCSIFNETMASK, &ifr);
    if (rc == 0) rc = ioctl(sock, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (rc == 0) rc = ioctl(sock, SIOCSIFFLAGS, &ifr);
    int e = errno;
    close(sock);
    if (rc != 0) return "cannot set up " + req.tun_name + ": " + std::strerror(e);
    int tun_index = static_cast<int>(if_nametoindex(req.tun_name.c_str()));

    // The proxy stays on the old path, then everything else goes to the TUN (two /1 routes
    // win over the default route without replacing it, so nothing of the user's is lost).
    for (const auto& p : req.proxy_ips) {
      std::string dst = protocol::format_address(p);
      dst = dst.substr(0, dst.rfind(':'));
      int r = route_v4(nl, true, dst, 32, state.gateway, old_oif);
      if (r != 0 && r != -EEXIST)
        return "cannot route " + dst + " via the old gateway: " + errno_text(r);
      if (r == 0) state.proxy_routes.push_back(dst);
    }
    for (const char* half : {"0.0.0.0", "128.0.0.0"}) {
      int r = route_v4(nl, true, half, 1, "", tun_index);
      if (r != 0 && r != -EEXIST)
        return std::string("cannot route ") + half + "/1 into the TUN: " + errno_text(r);
    }
    state.split_default = true;
    return "";
  }

  std::string reset(const RoutingState& state) override {
    Netlink nl;
    if (!nl.ok()) return "cannot open rtnetlink";
    int tun_index =
        state.tun_name.empty() ? 0 : static_cast<int>(if_nametoindex(state.tun_name.c_str()));
    if (state.split_default && tun_index) {
      for (const char* half : {"0.0.0.0", "128.0.0.0"}) route_v4(nl, false, half, 1, "", tun_index);
    }
    int old_oif =
        state.gateway_dev.empty() ? 0 : static_cast<int>(if_nametoindex(state.gateway_dev.c_str()));
    for (const auto& dst : state.proxy_routes) route_v4(nl, false, dst, 32, state.gateway, old_oif);
    if (state.tun_created && tun_index) {
      int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
      if (fd >= 0) {
        ifreq ifr{};
        ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
        std::strncpy(ifr.ifr_name, state.tun_name.c_str(), IFNAMSIZ - 1);
        if (ioctl(fd, TUNSETIFF, &ifr) == 0) ioctl(fd, TUNSETPERSIST, 0);  // gone when we close it
        close(fd);
      }
    }
    return "";
  }
};

std::unique_ptr<RoutingPlatform> make_linux_routing() {
  return std::make_unique<LinuxRouting>();
}

}  // namespace udptun::controller
