// tun2socks: the daemon over libtun2socks.
#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "udptun/runtime/command_line.hpp"
#include "udptun/tun2socks.h"

using udptun::runtime::CommandLineOption;
using Kind = CommandLineOption::Kind;

namespace {

const std::vector<CommandLineOption> kOptions = {
    {"--tun", "tun", Kind::string, "NAME",
     "create/open this TUN device (Linux; needs CAP_NET_ADMIN)"},
    {"--tun-fd", "tun_fd", Kind::integer, "N",
     "use this already open TUN fd (from a parent, Android VpnService)"},
    {"--mtu", "mtu", Kind::integer, "BYTES", "the TUN device's MTU (default 1500; 9000 is faster)"},
    {"--socks5", "socks5", Kind::string, "IP:PORT",
     "TCP goes out as SOCKS5 CONNECT through this server (e.g. ss-local)"},
    {"--socks5-username", "socks5_username", Kind::string, "NAME",
     "username for the SOCKS5 server"},
    {"--socks5-password", "socks5_password", Kind::string, "PASSWORD",
     "password for the SOCKS5 server"},
    {"--udp", "udp", Kind::string, "MODE",
     "off (default), udp-local (the in-process udp-local) or socks5 (UDP ASSOCIATE)"},
    {"--udp-socks5", "udp_socks5", Kind::string, "IP:PORT",
     "with --udp socks5: the SOCKS5 server for UDP (default: --socks5)"},
    {"--udp-local", "udp_local_config", Kind::string, "CONFIG.json",
     "the in-process udp-local's configuration"},
    {"--drop-udp-port", "drop_udp_ports", Kind::integer_list, "PORT",
     "drop UDP to this port, e.g. 443 to push QUIC back to TCP (repeatable)"},
    {"--max-tcp-connections", "max_tcp_connections", Kind::integer, "N",
     "refuse (RST) connections past this (default 4096)"},
    {"--tcp-connect-timeout-ms", "tcp_connect_timeout_ms", Kind::integer, "MS",
     "reset connections whose SOCKS5 CONNECT takes longer (default 10000)"},
    {"--stats-interval-ms", "stats_interval_ms", Kind::integer, "MS",
     "how often counters are published (default 1000)"},
    {"--log-level", "log_level", Kind::string, "LEVEL", "error, warn, info (default) or debug"},
};

std::atomic<int> g_failed{0};

}  // namespace

int main(int argc, char** argv) {
  std::string json, error;
  bool help = false;
  if (!udptun::runtime::build_config_from_args(argc, argv, kOptions, json, error, help)) {
    std::fprintf(stderr, "tun2socks: %s\n", error.c_str());
    return 2;
  }
  if (help) {
    std::fputs(
        udptun::runtime::usage_text(
            "tun2socks",
            "A TUN device in front of lwIP: TCP becomes SOCKS5 CONNECT, UDP goes through an\n"
            "in-process udp-local; replies come back from the address they came from.",
            kOptions)
            .c_str(),
        stdout);
    return 0;
  }
  char err[512];
  tun2socks_t* t = tun2socks_new(json.c_str(), err, sizeof err);
  if (!t) {
    std::fprintf(stderr, "tun2socks: %s\n", err);
    return 2;
  }
  udptun::runtime::block_stop_signals();
  tun2socks_callbacks cb{};
  cb.error = [](void*, const char* message) {
    std::fprintf(stderr, "tun2socks: %s\n", message);
    g_failed = 1;
    udptun::runtime::raise_stop_signal();
  };
  if (tun2socks_start(t, &cb, nullptr) != 0) {
    std::fprintf(stderr, "tun2socks: cannot start its thread\n");
    tun2socks_free(t);
    return 1;
  }
  udptun::runtime::wait_for_stop_signal();
  tun2socks_stop(t);
  tun2socks_free(t);
  return g_failed ? 1 : 0;
}
