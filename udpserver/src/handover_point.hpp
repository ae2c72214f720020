// The Unix socket a running udp-server listens on for its successor (a planned restart:
// upgrade, configuration reload), and the successor's side of it. Both ways, only a process
// of the same user (or root) is dealt with: whoever takes the handover gets every session
// and socket, and whatever a predecessor hands over is served as ours.
#pragma once

#include <uv.h>

#include <functional>
#include <string>

#include "udptun/protocol/status.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/uv_handle.hpp"

namespace udptun::udpserver {

class HandoverPoint {
 public:
  // Called on the loop with a connected, authorised successor's descriptor (ours to close).
  using Successor = std::function<void(int fd)>;
  HandoverPoint(runtime::EventLoop& loop, std::string path) : loop_(loop), path_(std::move(path)) {}
  ~HandoverPoint() { close(false); }

  static constexpr int kNoPredecessor = -1;
  // The successor's side, before our loop runs: a connected descriptor to a predecessor, or
  // kNoPredecessor when none listens there (a first start). A failure when the process there
  // is another user's.
  Result<int> connect_to_predecessor() const;
  // Listens at the path (replacing a predecessor's socket file atomically).
  Status listen(Successor on_successor);
  // Stops listening; removes the socket file if asked (never after a handover: the successor
  // renames its own socket over the path, and checking then removing would race with that).
  void close(bool remove_file = true);

 private:
  static void on_readable(uv_poll_t* poll, int status, int events);

  runtime::EventLoop& loop_;
  std::string path_;
  int fd_ = -1;                        // the listening socket
  runtime::UvHandle<uv_poll_t> poll_;  // readable: a successor is connecting
  Successor on_successor_;
  ino_t inode_ = 0;  // of the socket file we bound
};

}  // namespace udptun::udpserver
