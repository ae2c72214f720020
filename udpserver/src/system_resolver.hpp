// The system's DNS resolver, for udpgw datagrams flagged DNS when --udpgw-dns is not given
// (as badvpn's udpgw does): the first "nameserver" of a resolv.conf, port 53.
#pragma once

#include <optional>
#include <string>

#include "udptun/protocol/address.hpp"

namespace udptun::udpserver {

// Nothing when the file is missing or names no IP address (Windows: always nothing).
std::optional<protocol::Address> system_resolver(
    const std::string& resolv_conf = "/etc/resolv.conf");

}  // namespace udptun::udpserver
