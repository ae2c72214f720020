#include "system_resolver.hpp"

#include <cstdio>
#include <cstring>

#include "udptun/protocol/socket_api.hpp"

namespace udptun::udpserver {

std::optional<protocol::Address> system_resolver(const std::string& resolv_conf) {
#ifdef _WIN32
  (void)resolv_conf;  // no resolv.conf there: --udpgw-dns names it
  return std::nullopt;
#else
  FILE* f = std::fopen(resolv_conf.c_str(), "r");
  if (!f) return std::nullopt;
  char line[512];
  std::optional<protocol::Address> found;
  while (!found && std::fgets(line, sizeof line, f)) {
    char name[64];
    if (std::sscanf(line, " nameserver %63s", name) != 1) continue;
    if (char* scope = std::strchr(name, '%')) *scope = '\0';  // fe80::1%eth0
    uint8_t v4[4], v6[16];
    if (inet_pton(AF_INET, name, v4) == 1)
      found = protocol::Address::ipv4(v4, 53);
    else if (inet_pton(AF_INET6, name, v6) == 1)
      found = protocol::Address::ipv6(v6, 53);
  }
  std::fclose(f);
  return found;
#endif
}

}  // namespace udptun::udpserver
