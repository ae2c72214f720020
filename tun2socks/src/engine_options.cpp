// tun2socks' configuration keys, each declared once: flag, JSON key, bounds, the member it
// fills, help and documentation (docs/CONFIG.md's tun2socks table is made from this).
#include "engine_config.hpp"
#include "udptun/tun2socks_options.hpp"

namespace udptun::tun2socks {

namespace {

using C = EngineConfig;
using runtime::OptionList;
using namespace runtime;  // the field kinds: number, text, parsed, ...

TextParser<C> ip_endpoint(protocol::Address C::*member, bool C::*given = nullptr) {
  return [member, given](const std::string& t, C& c) {
    auto a = parse_endpoint(t, true);
    if (!a.ok()) return a.status();
    c.*member = a.value();
    if (given) c.*given = true;
    return Status::success();
  };
}

// A descriptor number (the struct keeps -1 for none).
OptionField<C> descriptor(int C::*member) {
  return {CommandLineOption::Kind::integer,
          [member](ConfigReader& r, const char* key, C& c) {
            uint64_t fd = 0;
            if (!r.has(key)) return true;
            if (!r.get_uint(key, 0, 1'000'000, fd)) return false;
            c.*member = static_cast<int>(fd);
            return true;
          },
          "0..1000000", "none"};
}

const OptionList<C> kDeviceOptions = {
    {"--tun", "tun", "NAME", text(&C::tun_name),
     "create/open this TUN device (Linux; needs CAP_NET_ADMIN)",
     "create/open this TUN device (Linux, needs CAP_NET_ADMIN); addresses and routes are set by "
     "whoever runs it (the controller, a script). Opened with a virtio-net header, checksum "
     "offload and TSO when the kernel allows (TCP from apps then arrives as 64 KiB "
     "super-packets; the log line says \"TSO and checksum offload\"), and a transmit queue of "
     "4096 packets",
     "one device required"},
    {"--tun-fd", "tun_fd", "N", descriptor(&C::tun_fd),
     "use this already open TUN fd (from a parent, Android VpnService)",
     "use an already open TUN fd (a parent process, Android's VpnService)"},
    {nullptr, "device", "",
     choice(&C::device, {{"tun", DeviceKind::tun_name}, {"callbacks", DeviceKind::callbacks}}),
     "`callbacks`: no device: packets go out through the `packet_out` callback and come in "
     "through `tun2socks_packet_in` (iOS NEPacketTunnelFlow style); `tun`: `tun` or `tun_fd`"},
    {"--mtu", "mtu", "BYTES", number(&C::mtu, 576, 65'535), "the TUN device's MTU (9000 is faster)",
     "the device's MTU; 9000 is faster (lwIP's MSS follows it)"},
    {"--no-answer-ping", "answer_ping", "", switch_off(&C::answer_ping),
     "do not answer ICMP echo (answered locally by default)",
     "ICMP/ICMPv6 echo to any address is answered by the stack itself; off, pings go "
     "unanswered"},
};

const OptionList<C> kProxyOptions = {
    {"--socks5", "socks5", "IP:PORT", parsed<C>(ip_endpoint(&C::socks5)),
     "TCP goes out as SOCKS5 CONNECT through this server (e.g. ss-local)",
     "TCP connections become SOCKS5 CONNECTs here (e.g. ss-local)", "required"},
    {"--socks5-username", "socks5_username", "NAME", text(&C::socks5_username),
     "username for the SOCKS5 server", "RFC 1929 credentials for that server …"},
    {"--socks5-password", "socks5_password", "PASSWORD", text(&C::socks5_password),
     "password for the SOCKS5 server", "… and the password"},
    {"--udp", "udp", "MODE",
     choice(
         &C::udp,
         {{"off", UdpMode::off}, {"udp-local", UdpMode::udp_local}, {"socks5", UdpMode::socks5}}),
     "off, udp-local (the in-process udp-local) or socks5 (UDP ASSOCIATE)",
     "`off`, `udp-local` (an in-process udp-local: no sockets between them) or `socks5` (UDP "
     "ASSOCIATE); without it, `--udp-local` or `--udp-socks5` picks the mode"},
    {"--udp-local", "udp_local_config", "CONFIG.json", text(&C::udp_local_file),
     "the in-process udp-local's configuration (implies --udp udp-local)",
     "the in-process udp-local's configuration file (its `in_process` is set automatically; "
     "fronts are optional); implies `--udp udp-local`",
     nullptr, true},
    {nullptr, "udp_local", "", object(&C::udp_local_object),
     "… or the configuration itself, as an object"},
    {"--state-dir", "state_dir", "DIR", text(&C::state_dir),
     "the in-process udp-local keeps its session record here (resumed after a restart)",
     "the in-process udp-local's `state_dir`, unless its configuration names one: a restarted "
     "tun2socks resumes the UDP session, and apps' flows keep their server-side ports",
     nullptr, true},
    {"--udp-socks5", "udp_socks5", "IP:PORT",
     parsed<C>(ip_endpoint(&C::udp_socks5, &C::has_udp_socks5)),
     "UDP through this SOCKS5 server (implies --udp socks5)",
     "the SOCKS5 server for UDP (`ss-local -u`, or a TCP-only ss-local beside an `ss-local -U` "
     "on the same port); implies `--udp socks5`",
     "the `socks5` server"},
    {"--drop-udp-port", "drop_udp_ports", "PORT", number_list(&C::drop_udp_ports, 1, 65'535),
     "drop UDP to this port, e.g. 443 to push QUIC back to TCP",
     "drop UDP to these ports, e.g. 443 so browsers fall back from QUIC to TCP"},
    {"--max-tcp-connections", "max_tcp_connections", "N",
     number(&C::max_tcp_connections, 1, 1'000'000), "refuse (RST) connections past this"},
    {"--tcp-connect-timeout-ms", "tcp_connect_timeout_ms", "MS",
     number(&C::tcp_connect_timeout_ms, 100, 600'000),
     "reset connections whose SOCKS5 CONNECT takes longer"},
};

const OptionList<C> kEngineOptions =
    runtime::join<C>({kDeviceOptions, kProxyOptions, runtime::common_options<C>()});

}  // namespace

const runtime::OptionList<EngineConfig>& engine_options() {
  return kEngineOptions;
}

std::vector<runtime::CommandLineOption> describe_options() {
  return runtime::describe(kEngineOptions);
}

}  // namespace udptun::tun2socks
