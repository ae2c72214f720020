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

#include <ifaddrs.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "routing_platform.hpp"
#include "routing_request.hpp"

namespace udptun::controller {

namespace {

// IPv4 routes of the main table as the kernel lists them (/proc/net/route).
std::vector<ExistingRoute> ipv4_routes() {
  std::vector<ExistingRoute> out;
  FILE* f = std::fopen("/proc/net/route", "r");
  if (!f) return out;
  char line[512];
  if (!std::fgets(line, sizeof line, f)) {  // the header
    std::fclose(f);
    return out;
  }
  while (std::fgets(line, sizeof line, f)) {
    char dev[64];
    unsigned dest, gateway, flags, refcnt, use, metric, mask;
    if (std::sscanf(line, "%63s %x %x %x %u %u %u %x", dev, &dest, &gateway, &flags, &refcnt, &use,
                    &metric, &mask) == 8)
      out.push_back({ntohl(dest), ntohl(mask), dev});
  }
  std::fclose(f);
  return out;
}

std::vector<ExistingAddress> ipv4_addresses() {
  std::vector<ExistingAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    out.push_back(
        {ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr), a->ifa_name});
  }
  freeifaddrs(list);
  return out;
}

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
  // The main table's default route for a family: gateway (may be empty) and output device.
  bool default_route(int family, std::string& gateway, int& oif) {
    Message m = make<rtmsg>(RTM_GETROUTE, NLM_F_DUMP);
    m.h()->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    m.body<rtmsg>()->rtm_family = static_cast<unsigned char>(family);
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
        if (found || r->rtm_dst_len != 0 || r->rtm_table != RT_TABLE_MAIN ||
            r->rtm_type != RTN_UNICAST)
          continue;
        int len = static_cast<int>(RTM_PAYLOAD(h));
        std::string gw;
        int dev = 0;
        for (auto* a = RTM_RTA(r); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
          if (a->rta_type == RTA_GATEWAY) {
            char text[INET6_ADDRSTRLEN];
            inet_ntop(family, RTA_DATA(a), text, sizeof text);
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

int family_of(const std::string& address) {
  return address.find(':') == std::string::npos ? AF_INET : AF_INET6;
}

// Adds or deletes one route in the main table: dst/prefix via gateway (or on-link) out of oif,
// or of another type (unreachable) with a metric.
int route(Netlink& nl, bool add, const std::string& dst, int prefix, const std::string& gateway,
          int oif, unsigned char type = RTN_UNICAST, uint32_t priority = 0) {
  const int family = family_of(dst);
  const size_t alen = family == AF_INET ? 4 : 16;
  auto m =
      Netlink::make<rtmsg>(add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
  rtmsg* r = m.body<rtmsg>();
  r->rtm_family = static_cast<unsigned char>(family);
  r->rtm_dst_len = static_cast<unsigned char>(prefix);
  r->rtm_table = RT_TABLE_MAIN;
  r->rtm_protocol = RTPROT_STATIC;
  r->rtm_scope = gateway.empty() && family == AF_INET && type == RTN_UNICAST ? RT_SCOPE_LINK
                                                                             : RT_SCOPE_UNIVERSE;
  r->rtm_type = type;
  unsigned char a[16] = {};
  if (inet_pton(family, dst.c_str(), a) != 1) return -EINVAL;
  m.attr(RTA_DST, a, alen);
  if (!gateway.empty()) {
    unsigned char g[16] = {};
    if (inet_pton(family, gateway.c_str(), g) != 1) return -EINVAL;
    m.attr(RTA_GATEWAY, g, alen);
  }
  if (oif) m.attr(RTA_OIF, &oif, sizeof oif);
  if (priority) m.attr(RTA_PRIORITY, &priority, sizeof priority);
  return nl.transact(m);
}

// Behind each proxy route, an unreachable route of the worst metric: when the uplink goes down
// the kernel deletes the route via the gateway, and without this the tunnel's own connections
// to the proxy would fall into the TUN's /1 routes and loop through tun2socks into themselves.
constexpr uint32_t kGuardMetric = 0xFFFFFFF0u;
int proxy_guard(Netlink& nl, bool add, const std::string& dst) {
  return route(nl, add, dst, family_of(dst) == AF_INET ? 32 : 128, "", 0, RTN_UNREACHABLE,
               kGuardMetric);
}

// An IPv6 address on a device, with no duplicate address detection (the TUN is ours alone).
int add_address6(Netlink& nl, int ifindex, const std::string& address, int prefix) {
  auto m = Netlink::make<ifaddrmsg>(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
  ifaddrmsg* ifa = m.body<ifaddrmsg>();
  ifa->ifa_family = AF_INET6;
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa->ifa_flags = IFA_F_NODAD;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<unsigned>(ifindex);
  unsigned char a[16] = {};
  if (inet_pton(AF_INET6, address.c_str(), a) != 1) return -EINVAL;
  m.attr(IFA_LOCAL, a, 16);
  m.attr(IFA_ADDRESS, a, 16);
  return nl.transact(m);
}

int index_of(const std::string& dev) {
  return dev.empty() ? 0 : static_cast<int>(if_nametoindex(dev.c_str()));
}

std::string name_of(int index) {
  char name[IF_NAMESIZE] = "";
  if (index) if_indextoname(static_cast<unsigned>(index), name);
  return name;
}

// Up, with a carrier: IFF_UP and IFF_RUNNING.
bool device_usable(const std::string& dev) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return false;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, dev.c_str(), IFNAMSIZ - 1);
  bool ok = ioctl(sock, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP) &&
            (ifr.ifr_flags & IFF_RUNNING);
  close(sock);
  return ok;
}

std::string host_of(const protocol::Address& a) {
  std::string text = protocol::format_address(a);  // "1.2.3.4:0" or "[::1]:0"
  text = text.substr(0, text.rfind(':'));
  if (!text.empty() && text.front() == '[') text = text.substr(1, text.size() - 2);
  return text;
}

const char* const kHalves4[] = {"0.0.0.0", "128.0.0.0"};
const char* const kHalves6[] = {"::", "8000::"};

std::string errno_text(int negative_errno) {
  return std::strerror(-negative_errno);
}

// The TUN: created persistent, so tun2socks can attach to it later. IFF_TUN_EXCL: a device of
// that name that is not ours is refused, never taken over.
Status create_tun(const RoutingRequest& req) {
  ifreq ifr{};
  if (!(req.reuse_tun && index_of(req.tun_name))) {
    if (index_of(req.tun_name))
      return Status::failure("a device named " + req.tun_name +
                             " exists already and is not ours: choose " + "another \"tunName\"");
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
      return Status::failure(std::string("cannot open /dev/net/tun: ") + std::strerror(errno));
    // ifr_flags is a short; IFF_TUN_EXCL is its top bit.
    ifr.ifr_flags = static_cast<short>(IFF_TUN | IFF_NO_PI | IFF_TUN_EXCL);
    std::strncpy(ifr.ifr_name, req.tun_name.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
      int e = errno;
      close(fd);
      return Status::failure("cannot create TUN device " + req.tun_name + ": " + std::strerror(e));
    }
    close(fd);
  }
  return Status::success();
}

// Its MTU, queue length, IPv4 address and netmask, and up.
Status bring_up(const RoutingRequest& req) {
  ifreq ifr{};
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    return Status::failure("cannot configure " + req.tun_name + ": " + std::strerror(errno));
  std::strncpy(ifr.ifr_name, req.tun_name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_mtu = static_cast<int>(req.mtu);
  if (ioctl(sock, SIOCSIFMTU, &ifr) != 0) {
    int e = errno;
    close(sock);
    return Status::failure("cannot give " + req.tun_name + " the MTU " + std::to_string(req.mtu) +
                           ": " + std::strerror(e));
  }
  // The default 500 overflows in an app's UDP bursts; a device that keeps it still works,
  // so a refusal (a restricted namespace) is not an error.
  ifr.ifr_qlen = 4096;
  (void)ioctl(sock, SIOCSIFTXQLEN, &ifr);
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
  if (rc != 0) return Status::failure("cannot set up " + req.tun_name + ": " + std::strerror(e));
  return Status::success();
}

// The default routes found before ours: the proxy's addresses stay on them.
struct Uplinks {
  std::string gateway;
  int oif;
  std::string gateway6;
  int oif6;
};

// The proxy stays on the old path (a guard against loops first, then a host route), so that
// everything else can go to the TUN: two /1 routes win over the default route without
// replacing it, and nothing of the user's is lost.
Status keep_proxies_on_uplink(Netlink& nl, const RoutingRequest& req, const Uplinks& old,
                              RoutingState& state, const RoutingPlatform::Checkpoint& checkpoint) {
  for (const auto& p : req.proxy_ips) {
    std::string dst = host_of(p);
    int g = proxy_guard(nl, true, dst);
    if (g != 0 && g != -EEXIST)
      return Status::failure("cannot guard " + dst + ": " + errno_text(g));
    if (g == 0) {
      state.proxy_guards.push_back(dst);
      checkpoint(state);
    }
  }
  for (const auto& p : req.proxy_ips) {
    std::string dst = host_of(p);
    bool v6 = p.type == protocol::AddressType::ipv6;
    int r = v6 ? route(nl, true, dst, 128, old.gateway6, old.oif6)
               : route(nl, true, dst, 32, old.gateway, old.oif);
    if (r != 0 && r != -EEXIST)
      return Status::failure("cannot route " + dst + " via the old gateway: " + errno_text(r));
    if (r == 0) {
      state.proxy_routes.push_back(dst);
      checkpoint(state);
    }
  }
  return Status::success();
}

template <size_t N>
Status split_default(Netlink& nl, const char* const (&halves)[N], int tun_index) {
  for (const char* half : halves) {
    int r = route(nl, true, half, 1, "", tun_index);
    if (r != 0 && r != -EEXIST)
      return Status::failure(std::string("cannot route ") + half +
                             "/1 into the TUN: " + errno_text(r));
  }
  return Status::success();
}

}  // namespace

class LinuxRouting : public RoutingPlatform {
 public:
  ~LinuxRouting() override {
    if (monitor_ >= 0) close(monitor_);
  }

  Status configure(const RoutingRequest& req, RoutingState& state,
                   const Checkpoint& checkpoint) override {
    Netlink nl;
    if (!nl.ok()) return Status::failure("cannot open rtnetlink");
    int old_oif = 0;
    if (!nl.default_route(AF_INET, state.gateway, old_oif))
      return Status::failure("no IPv4 default route to keep the proxy on");
    state.gateway_dev = name_of(old_oif);
    int old_oif6 = 0;
    std::string gateway6;
    bool have6 = nl.default_route(AF_INET6, gateway6, old_oif6);
    bool wants6 = req.ipv6 && have6;
    for (const auto& p : req.proxy_ips) {
      if (p.type == protocol::AddressType::ipv6 && !have6)
        return Status::failure("no IPv6 default route to keep the IPv6 proxy address " +
                               host_of(p) + " on");
    }

    // The router address becomes ours: never one in use, nor a network routed elsewhere (a
    // LAN, another VPN) that this would take over.
    Status free =
        check_router_ip_free(req.router_ip, ipv4_routes(), ipv4_addresses(), req.tun_name);
    if (!free.ok()) return free;

    if (Status made = create_tun(req); !made.ok()) return made;
    state.tun_name = req.tun_name;
    state.tun_created = true;
    checkpoint(state);
    if (Status up = bring_up(req); !up.ok()) return up;
    int tun_index = index_of(req.tun_name);
    if (wants6) {
      int r = add_address6(nl, tun_index, req.router_ip6, 64);
      if (r != 0)
        return Status::failure("cannot give " + req.tun_name +
                               " its IPv6 address: " + errno_text(r));
      state.gateway6 = gateway6;
      state.gateway6_dev = name_of(old_oif6);
    }

    Uplinks old{state.gateway, old_oif, gateway6, old_oif6};
    if (Status kept = keep_proxies_on_uplink(nl, req, old, state, checkpoint); !kept.ok())
      return kept;
    if (Status split = split_default(nl, kHalves4, tun_index); !split.ok()) return split;
    state.split_default = true;
    checkpoint(state);
    if (wants6) {
      if (Status split = split_default(nl, kHalves6, tun_index); !split.ok()) return split;
      state.split_default6 = true;
      checkpoint(state);
    }
    return Status::success();
  }

  bool device_exists(const std::string& name) override { return index_of(name) != 0; }

  Result<int> open_tun(const std::string& name) override {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      return Status::failure(std::string("cannot open /dev/net/tun: ") + std::strerror(e), -e);
    }
    bool fresh = !index_of(name);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    // With a virtio-net header when the kernel has it (tun2socks sets up the offloads).
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
    bool attached = ioctl(fd, TUNSETIFF, &ifr) == 0;
    if (!attached) {
      ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
      attached = ioctl(fd, TUNSETIFF, &ifr) == 0;
    }
    if (!attached) {
      int e = errno;
      close(fd);
      return Status::failure("cannot open TUN device " + name + ": " + std::strerror(e), -e);
    }
    if (fresh) {
      int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      ifreq q{};
      std::strncpy(q.ifr_name, name.c_str(), IFNAMSIZ - 1);
      q.ifr_qlen = 4096;  // the default 500 overflows in an app's UDP bursts
      if (sock >= 0) {
        (void)ioctl(sock, SIOCSIFTXQLEN, &q);  // not fatal: see configure()
        close(sock);
      }
    }
    return fd;
  }

  Status reset(const RoutingState& state) override {
    Netlink nl;
    if (!nl.ok()) return Status::failure("cannot open rtnetlink");
    int tun_index = index_of(state.tun_name);
    if (state.split_default && tun_index) {
      for (const char* half : kHalves4) route(nl, false, half, 1, "", tun_index);
    }
    if (state.split_default6 && tun_index) {
      for (const char* half : kHalves6) route(nl, false, half, 1, "", tun_index);
    }
    int oif = index_of(state.gateway_dev);
    int oif6 = index_of(state.gateway6_dev);
    for (const auto& dst : state.proxy_routes) {
      if (family_of(dst) == AF_INET)
        route(nl, false, dst, 32, state.gateway, oif);
      else
        route(nl, false, dst, 128, state.gateway6, oif6);
    }
    for (const auto& dst : state.proxy_guards) proxy_guard(nl, false, dst);
    if (state.tun_created && tun_index) release_tun(state.tun_name);
    return Status::success();
  }

  bool release_tun(const std::string& name) override {
    if (!index_of(name)) return true;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    // Attaching fails (EBUSY) while tun2socks holds the device: the caller retries.
    bool done = ioctl(fd, TUNSETIFF, &ifr) == 0 && ioctl(fd, TUNSETPERSIST, 0) == 0;
    close(fd);  // not persistent any more: gone with this last descriptor
    return done;
  }

  Uplink uplink(bool ipv6) override {
    Uplink u;
    Netlink nl;
    int oif = 0;
    if (!nl.ok() || !nl.default_route(ipv6 ? AF_INET6 : AF_INET, u.gateway, oif)) return u;
    u.dev = name_of(oif);
    u.usable = device_usable(u.dev);
    return u;
  }

  Status follow_uplink(RoutingState& state, bool& changed) override {
    changed = false;
    Netlink nl;
    if (!nl.ok()) return Status::failure("cannot open rtnetlink");
    int tun_index = index_of(state.tun_name);
    if (!tun_index) return Status::failure("the TUN device " + state.tun_name + " is gone");
    std::string why;
    for (bool v6 : {false, true}) {
      if (v6 && !state.split_default6) continue;
      Uplink now = uplink(v6);
      if (!now.usable) {
        if (!v6) why = "no usable IPv4 uplink";
        continue;
      }
      std::string& gateway = v6 ? state.gateway6 : state.gateway;
      std::string& dev = v6 ? state.gateway6_dev : state.gateway_dev;
      const int family = v6 ? AF_INET6 : AF_INET;
      const int prefix = v6 ? 128 : 32;
      if (now.gateway != gateway || now.dev != dev) {
        // The gateway moved: the proxy routes move with it.
        for (const auto& dst : state.proxy_routes) {
          if (family_of(dst) == family) route(nl, false, dst, prefix, gateway, index_of(dev));
        }
        gateway = now.gateway;
        dev = now.dev;
        changed = true;
      }
      for (const auto& dst : state.proxy_routes) {
        if (family_of(dst) != family) continue;
        int r = route(nl, true, dst, prefix, gateway, index_of(dev));
        if (r == 0) changed = true;
        if (r != 0 && r != -EEXIST)
          why = "cannot route " + dst + " via the gateway: " + errno_text(r);
      }
      for (const char* half : v6 ? kHalves6 : kHalves4) {
        if (route(nl, true, half, 1, "", tun_index) == 0) changed = true;
      }
    }
    return why.empty() ? Status::success() : Status::failure(why);
  }

  int change_fd() override {
    if (monitor_ >= 0) return monitor_;
    monitor_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (monitor_ < 0) return -1;
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_IFADDR |
                   RTMGRP_IPV6_IFADDR;
    if (bind(monitor_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      close(monitor_);
      monitor_ = -1;
    }
    return monitor_;
  }

  void drain_changes() override {
    char buf[16384];
    // What changed does not matter: the caller looks at the whole picture again. ENOBUFS
    // (missed notifications) is harmless for the same reason.
    for (int i = 0; i < 1024; ++i) {
      ssize_t n = recv(monitor_, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && errno != ENOBUFS && errno != EINTR) break;
      if (n == 0) break;
    }
  }

 private:
  int monitor_ = -1;
};

std::unique_ptr<RoutingPlatform> make_linux_routing() {
  return std::make_unique<LinuxRouting>();
}

}  // namespace udptun::controller
