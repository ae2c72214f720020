// Windows has no descriptor passing: a udp-server there cannot hand its sockets to a
// successor, so --handover-socket is refused at start and nothing is ever adopted. A restart
// on Windows is a new process: clients reconnect and get new sessions (see the README's
// table of what survives which restart).
#include "handover_point.hpp"
#include "server.hpp"

namespace udptun::udpserver {

Status Server::take_over() {
  return Status::failure("--handover-socket is not supported on Windows");
}

Status Server::adopt_listener(int, const protocol::Address&) {
  return Status::failure("--handover-socket is not supported on Windows");
}

void Server::hand_over(int) {}

void Server::listen_for_successor() {}

Result<int> HandoverPoint::connect_to_predecessor() const {
  return Status::failure("--handover-socket is not supported on Windows");
}

Status HandoverPoint::listen(Successor) {
  return Status::failure("--handover-socket is not supported on Windows");
}

void HandoverPoint::close(bool) {}

}  // namespace udptun::udpserver
