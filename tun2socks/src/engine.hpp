// The tun2socks instance: the packet device, lwIP (through lwip_glue), TCP sessions to the
// SOCKS5 server and the UDP path (an in-process udp-local), on one loop.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "engine_config.hpp"
#include "lwip_glue.h"
#include "packet_device.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/instance_host.hpp"
#include "udptun/runtime/log.hpp"
#include "udptun/runtime/uv_handle.hpp"
#include "udptun/tun2socks.h"
#include "udptun/udplocal.h"

namespace udptun::tun2socks {

class TcpSession;
class Socks5UdpPath;

class Engine : public runtime::InstanceHost<tun2socks_callbacks, tun2socks_stats> {
 public:
  explicit Engine(EngineConfig config);
  ~Engine() override;

  int packet_in(const uint8_t* packet, size_t len);

  runtime::EventLoop& loop() { return loop_; }
  runtime::Logger& log() { return log_; }
  const EngineConfig& config() const { return config_; }
  // The app's protect_socket callback as a protector (empty without one).
  runtime::SocketProtector protector() {
    if (!cb_.protect_socket) return nullptr;
    return [this](int fd) { return cb_.protect_socket(user_, fd); };
  }
  tun2socks_stats& stats() { return stats_; }
  // A session wants its end-of-iteration pass (TcpSession::on_deferred).
  void defer(TcpSession* s);
  // A finished session: freed at the end of this iteration.
  void retire(TcpSession* s);
  // A UDP reply for the TUN side, from `src` to the app at `dst`.
  void deliver_udp(const struct sockaddr* src, const struct sockaddr* dst,
                   protocol::ByteView payload);

 private:
  Status open() override;
  void on_running() override;
  void shutdown() override;
  void on_packet(const uint8_t* packet, size_t len);
  void end_of_iteration();
  void refresh_derived_stats() override;
  std::string render_metrics() override;  // engine_metrics.cpp
  void sweep() override;
  static void on_output(void* user, const struct iovec* iov, int iovcnt);
  static int on_tcp_accept(void* user, t2s_tcp* conn, const struct sockaddr* src,
                           const struct sockaddr* dst);
  static void on_udp(void* user, const struct sockaddr* src, const struct sockaddr* dst,
                     const uint8_t* data, size_t len);
  // Replies from the in-process udp-local (a guest on our loop: this thread).
  static void on_udp_reply(void* user, const struct sockaddr* src, const struct sockaddr* dst,
                           const uint8_t* data, size_t len);

  EngineConfig config_;

  std::unique_ptr<PacketDevice> device_;
  CallbackDevice* callback_device_ = nullptr;  // the same object when device is "callbacks"
  std::mutex device_mutex_;                    // guards callback_device_ against packet_in
  t2s_stack* stack_ = nullptr;
  runtime::UvHandle<uv_timer_t> lwip_timer_;
  runtime::UvHandle<uv_check_t> end_of_iteration_;
  std::list<std::unique_ptr<TcpSession>> sessions_;
  std::vector<std::unique_ptr<TcpSession>> retired_;
  std::set<TcpSession*> deferred_;
  uint64_t next_serial_ = 1;

  udplocal_t* udp_local_ = nullptr;
  std::unique_ptr<Socks5UdpPath> udp_socks5_;
};

}  // namespace udptun::tun2socks
