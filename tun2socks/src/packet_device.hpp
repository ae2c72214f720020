// Where IP packets come from and go to: a Linux TUN device (created by name, or an fd handed
// over by a parent or Android's VpnService), or the embedding app through callbacks (iOS
// NEPacketTunnelFlow style, or a pipe).
#pragma once

#include <uv.h>
#include "iovec.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "udptun/protocol/status.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/mailbox.hpp"
#include "udptun/runtime/uv_handle.hpp"

namespace udptun::tun2socks {

class PacketDevice {
 public:
  using Receiver = std::function<void(const uint8_t* packet, size_t len)>;
  virtual ~PacketDevice() = default;
  // Starts delivering packets to `receiver` (on the loop thread).
  virtual Status start(Receiver receiver) = 0;
  // One packet out; false when it was dropped (device full or gone).
  virtual bool send(const struct iovec* iov, int iovcnt) = 0;
  virtual void stop() = 0;
  virtual std::string name() const = 0;
  // What the device does beyond plain packets, for the log ("" when nothing).
  virtual std::string features() const { return ""; }
};

// A TUN device: opened by name (created if needed; Linux, needs CAP_NET_ADMIN) or an fd.
class TunDevice : public PacketDevice {
 public:
  TunDevice(runtime::EventLoop& loop, std::string name, int fd);
  ~TunDevice() override;
  Status start(Receiver receiver) override;
  bool send(const struct iovec* iov, int iovcnt) override;
  void stop() override;
  std::string name() const override { return name_; }
  std::string features() const override {
    return tso_ ? ", TSO and checksum offload" : vnet_header_ ? ", virtio-net header" : "";
  }

 private:
  static constexpr size_t kVnetHeader = 10;  // struct virtio_net_hdr
  static constexpr size_t kMaxIov = 64;
  static constexpr size_t kTxQueueLength = 4096;
  void setup_offloads();
  void raise_queue_length();
  static void on_readable(uv_poll_t* p, int status, int events);
  runtime::EventLoop& loop_;
  std::string name_;
  int fd_;
  bool owns_fd_;
  Receiver receiver_;
  runtime::UvHandle<uv_poll_t> poll_;
  std::vector<uint8_t> buffer_;
  bool vnet_header_ = false;
  bool tso_ = false;
};

// Packets through the embedding app: out via a callback, in via push() from any thread.
class CallbackDevice : public PacketDevice {
 public:
  using Output = std::function<void(const uint8_t* packet, size_t len)>;
  static constexpr size_t kMaxQueued = 4096;

  CallbackDevice(runtime::EventLoop& loop, Output output);
  ~CallbackDevice() override;
  Status start(Receiver receiver) override;
  bool send(const struct iovec* iov, int iovcnt) override;
  void stop() override;
  std::string name() const override { return "callbacks"; }
  int push(const uint8_t* packet, size_t len);  // any thread

 private:
  using Packets = std::vector<std::vector<uint8_t>>;
  runtime::EventLoop& loop_;
  Output output_;
  Receiver receiver_;
  runtime::Mailbox<Packets> inbox_;  // pushed by the app's threads
  std::vector<uint8_t> flat_;
};

}  // namespace udptun::tun2socks
