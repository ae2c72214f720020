#include "tun2socks_egress.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>

#include "udptun/protocol/udp_packet.hpp"

namespace udptun::udpserver {

namespace {
// The /96 our IPv6 endpoints live in (fd75:6470:7475::/48, the rest zero up to the host part).
constexpr uint8_t kPrefix6[12] = {0xfd, 0x75, 0x64, 0x70, 0x74, 0x75};
}  // namespace

using protocol::Address;
using protocol::ByteView;

Tun2socksEgress::Tun2socksEgress(runtime::EventLoop& loop, runtime::Logger& log)
    : loop_(loop), log_(log), packet_(65536 + protocol::kIpv6UdpHeader) {}

Tun2socksEgress::~Tun2socksEgress() {
  stop();
}

Status Tun2socksEgress::start(const Address& socks5, const std::string& username,
                              const std::string& password) {
  std::string server = protocol::format_address(socks5);
  std::string config = R"({"device":"callbacks","mtu":65535,"socks5":")" + server +
                       R"(","udp":"socks5","udp_socks5":")" + server + R"(","answer_ping":false)";
  if (!username.empty()) {
    // Credentials go through cJSON-free escaping: refuse what would need it.
    if (username.find_first_of("\"\\") != std::string::npos ||
        password.find_first_of("\"\\") != std::string::npos)
      return Status::failure("egress SOCKS5 credentials must not contain quotes or backslashes");
    config += R"(,"socks5_username":")" + username + R"(","socks5_password":")" + password + "\"";
  }
  std::string level = runtime::log_level_name(log_.level());  // "INFO": the config wants "info"
  for (char& ch : level) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  config += R"(,"log_level":")" + level + "\"}";
  char err[256] = "";
  stack_ = tun2socks_new(config.c_str(), err, sizeof err);
  if (!stack_) return Status::failure(std::string("egress tun2socks: ") + err);
  int rc = inbox_.open(loop_, [this](Inbox& inbox) { drain(inbox); });
  if (rc != 0) {
    tun2socks_free(stack_);
    stack_ = nullptr;
    return Status::failure(std::string("egress tun2socks: ") + uv_strerror(rc), rc);
  }
  tun2socks_callbacks cb{};
  cb.packet_out = on_packet_out;
  cb.error = on_error;
  if (tun2socks_start(stack_, &cb, this) != 0) {
    tun2socks_free(stack_);
    stack_ = nullptr;
    inbox_.close();
    return Status::failure("egress tun2socks: cannot start its thread");
  }
  LOG_INFO(log_, "egress", "datagrams leave through an in-process tun2socks, UDP via SOCKS5 %s",
           server.c_str());
  return Status::success();
}

void Tun2socksEgress::stop() {
  if (!stack_) return;
  tun2socks_stop(stack_);
  tun2socks_free(stack_);  // joins its thread: no packet_out after this
  stack_ = nullptr;
  inbox_.close();
}

uint64_t Tun2socksEgress::key(const Address& a) {
  // attach() varies only the last four address bytes (IPv4: all of it) and the port, so
  // family, those bytes and the port identify an endpoint.
  const size_t n = a.type == protocol::AddressType::ipv6 ? 16 : 4;
  uint32_t low;
  std::memcpy(&low, a.ip.data() + n - 4, 4);
  return (a.type == protocol::AddressType::ipv6 ? 1ull << 63 : 0) |
         static_cast<uint64_t>(low) << 16 | a.port;
}

Address Tun2socksEgress::attach(Receiver& r, protocol::AddressType family) {
  Address a;
  // A fresh endpoint each time (skipping any still in use after a wrap-around).
  do {
    uint32_t n = next_++;
    uint16_t port = static_cast<uint16_t>(10000 + n % 50000);
    uint32_t host = n / 50000;
    if (family == protocol::AddressType::ipv6) {
      uint8_t ip[16] = {};
      std::memcpy(ip, kPrefix6, sizeof kPrefix6);
      std::memcpy(ip + 12, &host, 4);
      a = Address::ipv6(ip, port);
    } else {
      uint32_t v4 = 0x64400001u + (host & 0x3FFFFFu);  // 100.64.0.1 onward, inside /10
      uint8_t ip[4] = {static_cast<uint8_t>(v4 >> 24), static_cast<uint8_t>(v4 >> 16),
                       static_cast<uint8_t>(v4 >> 8), static_cast<uint8_t>(v4)};
      a = Address::ipv4(ip, port);
    }
  } while (endpoints_.count(key(a)));
  endpoints_[key(a)] = &r;
  return a;
}

void Tun2socksEgress::detach(const Address& endpoint) {
  endpoints_.erase(key(endpoint));
}

bool Tun2socksEgress::send(const Address& endpoint, const Address& dst, ByteView payload) {
  if (!stack_) return false;
  size_t n = protocol::build_udp_packet(endpoint, dst, payload, packet_.data(), packet_.size());
  if (n == 0 || tun2socks_packet_in(stack_, packet_.data(), n) != 0) {
    dropped_++;
    return false;
  }
  return true;
}

void Tun2socksEgress::on_packet_out(void* user, const uint8_t* packet, size_t len) {
  // A refusal (full) is counted by the mailbox (dropped() adds it): the packet is dropped,
  // as a full queue toward the server drops any.
  (void)static_cast<Tun2socksEgress*>(user)->inbox_.post([&](Inbox& pending) {
    if (pending.packets.size() >= kMaxQueuedPackets) return -EAGAIN;
    pending.packets.emplace_back(packet, packet + len);
    return 0;
  });
}

void Tun2socksEgress::on_error(void* user, const char* message) {
  std::string why = message ? message : "fatal error";
  // Refused only while the server closes the mailbox (stopping): the error no longer matters.
  (void)static_cast<Tun2socksEgress*>(user)->inbox_.post([&](Inbox& pending) {
    pending.error = why;
    return 0;
  });
}

void Tun2socksEgress::drain(Inbox& inbox) {
  if (!inbox.error.empty()) LOG_ERROR(log_, "egress", "tun2socks stopped: %s", inbox.error.c_str());
  for (const auto& p : inbox.packets) {
    auto u = protocol::parse_udp_packet(ByteView(p));
    if (!u.ok()) continue;  // ICMP and the like: nothing a flow can take
    const Address& to = u.value.dst;
    if (to.type == protocol::AddressType::ipv6 &&
        std::memcmp(to.ip.data(), kPrefix6, sizeof kPrefix6) != 0)
      continue;  // not one of ours (the key below only looks at the last bytes)
    auto it = endpoints_.find(key(u.value.dst));
    if (it == endpoints_.end()) continue;  // the flow is gone
    it->second->on_egress_datagram(u.value.src, u.value.payload);
  }
}

}  // namespace udptun::udpserver
