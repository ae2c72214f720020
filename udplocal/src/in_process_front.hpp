// The in-process front: datagrams handed over by the embedding application (an embedded
// tun2socks) through udplocal_submit, replies handed back through a callback. A submission
// from the loop thread goes straight in; from another thread it crosses over through a
// small bounded queue (drop when full) and one async wake-up per batch.
#pragma once

#include <uv.h>
#include "udptun/protocol/socket_api.hpp"

#include <vector>

#include "flow_table.hpp"
#include "udptun/runtime/datagram_batch.hpp"
#include "udptun/runtime/mailbox.hpp"
#include "udptun/runtime/uv_handle.hpp"

namespace udptun::udplocal {

class Client;

class InProcessFront : public FlowOrigin {
 public:
  static constexpr size_t kMaxQueuedDatagrams = 4096;
  static constexpr size_t kMaxQueuedBytes = 8u << 20;

  explicit InProcessFront(Client& client);
  ~InProcessFront() override;
  int open();    // on the loop thread
  void close();  // on the loop thread; later submissions fail with -EPIPE

  // Any thread.
  int submit(const struct sockaddr* src, const struct sockaddr* dst, const uint8_t* data,
             size_t len);

  void deliver(LocalFlow& flow, protocol::ByteView payload,
               const protocol::Address& source) override;
  std::string persistent_name() const override { return "in-process"; }

 private:
  Client& client_;
  uv_thread_t loop_thread_{};
  bool closed_ = false;                             // loop thread only
  runtime::Mailbox<runtime::DatagramBatch> inbox_;  // submissions from other threads
};

}  // namespace udptun::udplocal
