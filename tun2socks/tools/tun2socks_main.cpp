// tun2socks: the daemon over libtun2socks.
#include <vector>

#include "udptun/runtime/daemon_main.hpp"
#include "udptun/runtime/instance_api.hpp"
#include "udptun/tun2socks.h"
#include "udptun/tun2socks_options.hpp"

int main(int argc, char** argv) {
  const auto options = udptun::tun2socks::describe_options();
  const udptun::runtime::DaemonSpec spec{
      "tun2socks",
      "udptun tun2socks: a TUN device's TCP to SOCKS5, its UDP to udp-local or SOCKS5",
      "A TUN device in front of lwIP: TCP becomes SOCKS5 CONNECT, UDP goes through an\n"
      "in-process udp-local (or SOCKS5 UDP ASSOCIATE); replies come back from the address\n"
      "they came from.",
      &options,
      /*hup_starts_successor=*/false,
      {{"EXAMPLES",
        "TCP from the device udptun0 through ss-local's SOCKS5 port, UDP through the "
        "in-process udp-local configured in udp-local.json:\n\n"
        "  tun2socks --tun udptun0 --socks5 127.0.0.1:1080 --udp-local udp-local.json\n\n"
        "Routes into the device are proxy-controller's job (or the administrator's).",
        {}},
       {"FILES",
        "/etc/udptun/tun2socks.json and /etc/udptun/psk, as the shipped systemd unit "
        "tun2socks.service and proxy-controller's built-in tun2socks service read them.",
        {}}}};
  return udptun::runtime::run_daemon(argc, argv, spec, UDPTUN_INSTANCE_API(tun2socks));
}
