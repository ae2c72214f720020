// Planned restarts: the running udp-server hands its listeners, sessions and flow sockets to
// a successor process (SCM_RIGHTS over the handover socket) and stops; the successor adopts
// them before it serves. Clients see their connection end (GOAWAY shutting_down), reconnect
// to the same listening socket — now the successor's — and resume their sessions; targets
// keep seeing the same source ports. What does not survive: datagrams in flight during the
// switch, flows through a SOCKS5 or tun2socks egress (re-made when clients re-announce them).
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <optional>

#include "client_link.hpp"
#include "handover_point.hpp"
#include "server.hpp"
#include "server_flow.hpp"
#include "session.hpp"
#include "udptun/protocol/server_handover.hpp"
#include "udptun/runtime/descriptor_passing.hpp"
#include "worker.hpp"

namespace udptun::udpserver {

namespace {
constexpr int kTransferTimeoutMs = 10'000;
// The predecessor's side blocks its loop while it hands over: a successor that does not read
// or answer within this is given up, and the predecessor goes on serving.
constexpr int kSuccessorTimeoutMs = 3'000;
constexpr uint8_t kAck = 'A';

// A listening TCP socket, and the address it is bound to (never what a record says).
std::optional<protocol::Address> listening_address(int fd) {
  int type = 0, accepting = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return {};
  len = sizeof accepting;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting) return {};
  sockaddr_storage ss{};
  socklen_t sl = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sl) != 0) return {};
  return protocol::address_from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}
}  // namespace

Status Server::take_over() {
  handover_ = std::make_unique<HandoverPoint>(loop_, config_.handover_socket);
  auto connected = handover_->connect_to_predecessor();
  if (!connected.ok()) {
    // Another user's process at our handover path: start afresh rather than serve what it
    // would hand us (it could keep copies of our listeners).
    LOG_ERROR(log_, "", "%s; starting without a handover", connected.message().c_str());
    return Status::success();
  }
  int fd = connected.value();
  if (fd == HandoverPoint::kNoPredecessor) return Status::success();  // a first start
  std::string text;
  std::vector<int> fds;
  Status received = runtime::receive_package(fd, text, fds, protocol::kMaxHandoverRecordBytes,
                                             protocol::kMaxHandoverDescriptors, kTransferTimeoutMs);
  auto record = received.ok() ? protocol::decode_handover_record(text, fds.size())
                              : Result<protocol::HandoverRecord>(received);
  if (!record.ok()) {
    for (int f : fds) close(f);
    close(fd);
    return record.status().within("the handover from the predecessor failed");
  }
  std::vector<bool> taken(fds.size(), false);
  for (const auto& l : record->listeners) {
    taken[l.fd_index] = true;
    auto bound = listening_address(fds[l.fd_index]);
    Status adopted = bound ? adopt_listener(fds[l.fd_index], *bound)
                           : (close(fds[l.fd_index]), Status::failure("not a listening socket"));
    if (!adopted.ok()) LOG_WARN(log_, "", "a listener handed over: %s", adopted.message().c_str());
  }
  size_t sessions = 0, flows = 0;
  for (const auto& rs : record->sessions) {
    // Each session to the worker that will own it (their threads have not started yet).
    Session* s = worker_for(rs.id).adopt_session(rs.id);
    for (const auto& rf : rs.flows) {
      taken[rf.fd_index] = true;
      if (!s) {
        close(fds[rf.fd_index]);
        continue;
      }
      Status adopted = s->adopt_flow(rf, fds[rf.fd_index]);
      if (adopted.ok())
        flows++;
      else  // the client re-announces it on resume: it is made afresh then
        LOG_DEBUG(log_, "", "flow %u not taken over: %s", rf.id, adopted.message().c_str());
    }
    if (s) sessions++;
  }
  for (size_t i = 0; i < fds.size(); ++i) {
    if (!taken[i]) close(fds[i]);
  }
  // Only now may the predecessor stop: everything it gave is open here.
  (void)!write(fd, &kAck, 1);
  close(fd);
  LOG_INFO(log_, "", "took over from the predecessor: %zu listeners, %zu sessions, %zu flows",
           adopted_listeners_.size(), sessions, flows);
  return Status::success();
}

Status Server::adopt_listener(int fd, const protocol::Address& address) {
  // It takes the descriptor, whatever happens. Only listeners the configuration still names, for
  // what it names them (a udpgw listener stays one); a port 0 one matches by address, after the
  // exact ones.
  std::optional<Wire> wire;
  for (bool exact : {true, false}) {
    for (auto [list, kind] : {std::make_pair(&config_.listen, Wire::udptun),
                              std::make_pair(&config_.udpgw_listen, Wire::udpgw),
                              std::make_pair(&config_.socks5_listen, Wire::socks5)}) {
      for (const auto& a : *list) {
        bool same_ip = a.type == address.type && a.ip == address.ip;
        if (!wire && same_ip && (exact ? a.port == address.port : a.port == 0)) wire = kind;
      }
    }
  }
  const std::string name = protocol::format_address(address);
  if (!wire) {
    close(fd);
    return Status::failure(name + ": the configuration no longer names it");
  }
  runtime::UvHandle<uv_tcp_t> l;
  int rc = l.init(this, [&](uv_tcp_t* t) { return uv_tcp_init(loop_.get(), t); });
  if (rc == 0) rc = uv_tcp_open(l.get(), fd);
  if (rc != 0) {
    close(fd);  // not the handle's yet
    return Status::failure(name + ": " + uv_strerror(rc));
  }
  rc = uv_listen(l.stream(), 128, connection_callback(*wire));
  if (rc != 0) {
    // The handle owns the descriptor now and closes it.
    return Status::failure(name + ": cannot listen: " + uv_strerror(rc));
  }
  LOG_INFO(log_, "", "listening on %s (taken over)", name.c_str());
  if (cb_.started) cb_.started(user_, name.c_str());
  listeners_.push_back(std::move(l));
  adopted_listeners_.push_back(address);
  return Status::success();
}

void Server::listen_for_successor() {
  if (!handover_) return;
  Status listening = handover_->listen([this](int fd) { hand_over(fd); });
  if (!listening.ok())
    LOG_WARN(log_, "", "planned restarts will not keep sessions: %s", listening.message().c_str());
}

void Server::hand_over(int fd) {
  if (handed_over_ || stopping_) {
    close(fd);
    return;
  }
  LOG_INFO(log_, "", "a successor is taking over");
  // Nothing changes here until the successor confirms it holds everything: a successor that
  // fails (or a peer that only pretends to be one) leaves us serving as before.
  protocol::HandoverRecord record;
  std::vector<int> fds;
  for (auto& l : listeners_) {
    uv_os_fd_t lfd;
    sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_fileno(l.base(), &lfd) != 0 ||
        uv_tcp_getsockname(l.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
      continue;
    auto address = protocol::address_from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
    int copy = fcntl(lfd, F_DUPFD_CLOEXEC, 3);
    if (!address || copy < 0) continue;
    record.listeners.push_back({static_cast<uint32_t>(fds.size()), *address});
    fds.push_back(copy);
  }
  for (auto& w : workers_) {
    Worker* worker = w.get();
    if (!worker->run_and_wait([&] { worker->describe_sessions(record.sessions, fds); }))
      LOG_WARN(log_, "", "worker %zu is stopping: its sessions are not handed over",
               worker->index());
  }
  Status sent =
      runtime::send_package(fd, protocol::encode_handover_record(record), fds, kSuccessorTimeoutMs);
  uint8_t ack = 0;
  if (sent.ok()) {
    pollfd p{fd, POLLIN, 0};
    bool confirmed = poll(&p, 1, kSuccessorTimeoutMs) == 1 && read(fd, &ack, 1) == 1 && ack == kAck;
    if (!confirmed) sent = Status::failure("the successor did not confirm");
  }
  for (int f : fds) close(f);
  close(fd);
  size_t flows = fds.size() - record.listeners.size();
  if (!sent.ok()) {
    LOG_ERROR(log_, "", "the handover failed (%s); serving on", sent.message().c_str());
    return;
  }
  LOG_INFO(log_, "", "handed over %zu listeners, %zu sessions, %zu flows; stopping",
           record.listeners.size(), record.sessions.size(), flows);
  // From here on we serve nobody: no new connections (they wait in the listen backlog for the
  // successor), every client told to reconnect (as we stop), our flow sockets the successor's.
  listeners_.clear();
  handed_over_ = true;
  loop_.request_stop();
}

void Worker::describe_sessions(std::vector<protocol::HandoverRecord::Session>& sessions,
                               std::vector<int>& fds) {
  for (auto& [id, s] : sessions_) {
    if (!s->resumable()) continue;  // its client cannot resume it anywhere
    sessions.emplace_back();
    s->describe(sessions.back(), fds);
  }
}

// A flow the predecessor handed over, its socket adopted as it is.
Status ServerFlow::adopt(int fd, const protocol::Address& target_ip, bool dns_only) {
  int type = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_DGRAM) {
    close(fd);
    return Status::failure("its descriptor is not a UDP socket");
  }
  if (!target_ip.is_ip() || protocol::address_to_sockaddr(target_ip, &target_sa_) == 0) {
    close(fd);
    return Status::failure("its target is not an IP address");
  }
  if (int rc = socket_.adopt(fd); rc != 0)  // closed it
    return Status::failure(std::string("its socket: ") + uv_strerror(rc));
  target_ip_ = target_ip;
  dns_only_ = dns_only;
  ready_reported_ = true;  // the client re-announces it on resume and hears "open" then
  return Status::success();
}

Status Session::adopt_flow(const protocol::HandoverRecord::Flow& rf, int fd) {
  if (flows_.count(rf.id)) {
    close(fd);
    return Status::failure("the record names it twice");
  }
  if (!worker_.server().reserve_flow()) {
    close(fd);
    return Status::failure("--max-total-flows reached");
  }
  auto flow = std::make_unique<ServerFlow>(*this, rf.id, rf.target);
  if (Status adopted = flow->adopt(fd, rf.target_ip, rf.dns_only); !adopted.ok()) {
    worker_.server().release_flows(1);
    return adopted;
  }
  flows_.emplace(rf.id, std::move(flow));
  worker_.stats().flows++;
  return Status::success();
}

// A session's flows as the successor needs them, each with a duplicate of its socket.
void Session::describe(protocol::HandoverRecord::Session& out, std::vector<int>& fds) const {
  out.id = id_;
  for (const auto& [id, flow] : flows_) {
    int fd = flow->handover_fd();
    if (fd < 0) continue;  // re-made when the client re-announces it
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) continue;
    protocol::HandoverRecord::Flow f;
    f.id = id;
    f.fd_index = static_cast<uint32_t>(fds.size());
    f.target = flow->target();
    f.target_ip = flow->target_ip();
    f.dns_only = flow->is_dns();
    fds.push_back(copy);
    out.flows.push_back(f);
  }
}

}  // namespace udptun::udpserver
