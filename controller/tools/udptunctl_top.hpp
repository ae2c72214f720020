// udptunctl top: a live view of the controller's services in the terminal.
#pragma once

#include <string>

namespace udptun::ctl {

// Redraws every `refresh_ms` until `q`, Ctrl-C or SIGTERM. 0.
int run_top(const std::string& socket_path, int refresh_ms = 1000);

}  // namespace udptun::ctl
