#include "routing_request.hpp"

#include <string>
#include <vector>

namespace udptun::controller {

namespace {

uint32_t v4_of(const protocol::Address& a) {
  return static_cast<uint32_t>(a.ip[0]) << 24 | static_cast<uint32_t>(a.ip[1]) << 16 |
         static_cast<uint32_t>(a.ip[2]) << 8 | a.ip[3];
}

bool is_private_v4(const protocol::Address& a) {
  uint32_t ip = v4_of(a);
  auto in = [&](uint32_t net, unsigned bits) {
    return (ip >> (32 - bits)) == (net >> (32 - bits));
  };
  return in(0x0A000000, 8) || in(0xAC100000, 12) || in(0xC0A80000, 16) || in(0x64400000, 10) ||
         in(0xC6120000, 15);
}

std::string dotted(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
         std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255);
}

}  // namespace

Status check_router_ip_free(const protocol::Address& router,
                            const std::vector<ExistingRoute>& routes,
                            const std::vector<ExistingAddress>& addresses, const std::string& tun) {
  uint32_t ip = v4_of(router);
  uint32_t net = ip & 0xFFFFFF00u;
  for (const auto& a : addresses) {
    if (a.dev == tun) continue;
    if (a.ip == ip)
      return Status::failure("\"routerIp\" " + dotted(ip) + " is already an address of " + a.dev);
  }
  for (const auto& r : routes) {
    if (r.dev == tun || r.mask == 0) continue;  // ours, or the default route
    // Two networks overlap when the shorter mask's network contains the other's.
    uint32_t m = r.mask & 0xFFFFFF00u;
    if ((r.dest & m) == (net & m))
      return Status::failure("\"routerIp\" " + dotted(ip) + "/24 overlaps the route to " +
                             dotted(r.dest) + " via " + r.dev + ": choose a network not in use");
  }
  return Status::success();
}

Status parse_routing_request(const cJSON* params, RoutingRequest& req) {
  auto param = [&](const char* key) {
    return params ? cJSON_GetObjectItemCaseSensitive(params, key) : nullptr;
  };
  const cJSON* router = param("routerIp");
  const cJSON* router6 = param("routerIp6");
  const cJSON* ipv6 = param("ipv6");
  const cJSON* proxy = param("proxyIp");
  const cJSON* tun = param("tunName");
  const cJSON* mtu = param("mtu");
  const cJSON* automatic = param("isAutoConnect");
  // An IP literal (no port, no name): IPv4, or IPv6 with or without brackets.
  auto ip = [](std::string text, protocol::Address& out) {
    if (text.find(':') != std::string::npos && text.front() != '[') text = "[" + text + "]";
    auto t = protocol::parse_address_text(text + ":0");
    if (!t.address || t.address->type == protocol::AddressType::domain) return false;
    out = *t.address;
    return true;
  };
  if (!cJSON_IsString(router) || !ip(router->valuestring, req.router_ip) ||
      req.router_ip.type != protocol::AddressType::ipv4) {
    return Status::failure("parameter \"routerIp\" must be an IPv4 address");
  }
  if (!is_private_v4(req.router_ip))
    return Status::failure(
        "parameter \"routerIp\" must be a private address (10/8, 172.16/12, 192.168/16, "
        "100.64/10, 198.18/15): it becomes an address of this machine");
  if (router6) {
    protocol::Address a;
    if (!cJSON_IsString(router6) || !ip(router6->valuestring, a) ||
        a.type != protocol::AddressType::ipv6)
      return Status::failure("\"routerIp6\" must be an IPv6 address");
    if ((a.ip[0] & 0xFE) != 0xFC)
      return Status::failure("\"routerIp6\" must be a unique local address (fc00::/7)");
    req.router_ip6 = router6->valuestring;
  }
  if (ipv6) {
    if (!cJSON_IsBool(ipv6)) return Status::failure("\"ipv6\" must be true or false");
    req.ipv6 = cJSON_IsTrue(ipv6);
  }
  std::vector<const cJSON*> proxies;
  if (cJSON_IsString(proxy)) {
    proxies.push_back(proxy);
  } else if (cJSON_IsArray(proxy)) {
    const cJSON* p;
    cJSON_ArrayForEach(p, proxy) proxies.push_back(p);
  }
  if (proxies.empty())
    return Status::failure("parameter \"proxyIp\" (an IP address or an array of them) is required");
  for (const cJSON* p : proxies) {
    protocol::Address a;
    if (!cJSON_IsString(p) || !ip(p->valuestring, a))
      return Status::failure("\"proxyIp\" must hold IPv4 or IPv6 addresses");
    req.proxy_ips.push_back(a);
  }
  if (tun) {
    std::string n = cJSON_IsString(tun) ? tun->valuestring : "";
    if (n.empty() || n.size() >= 16 ||
        n.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") != std::string::npos) {
      return Status::failure(
          "\"tunName\" must be an interface name (lower-case letters, digits, - _ ., under 16 "
          "bytes)");
    }
    req.tun_name = n;
  }
  if (mtu) {
    if (!cJSON_IsNumber(mtu) || mtu->valueint < 576 || mtu->valueint > 65535)
      return Status::failure("\"mtu\" must be 576..65535");
    req.mtu = static_cast<unsigned>(mtu->valueint);
  }
  if (automatic && !cJSON_IsBool(automatic))
    return Status::failure("\"isAutoConnect\" must be true or false");
  return Status::success();
}

}  // namespace udptun::controller
