// Every key of udplocal_new's JSON with its flag, default, bounds and documentation: what
// udp-local's command line, --help and man page and docs/CONFIG.md are made from.
// Internal (C++, not installed): the daemons and the documentation check read it.
#pragma once

#include <vector>

#include "udptun/runtime/command_line.hpp"

namespace udptun::udplocal {

std::vector<runtime::CommandLineOption> describe_options();

}  // namespace udptun::udplocal
