// Every key of tun2socks_new's JSON with its flag, default, bounds and documentation: what
// tun2socks' command line, --help and man page and docs/CONFIG.md are made from.
// Internal (C++, not installed): the daemons and the documentation check read it.
#pragma once

#include <vector>

#include "udptun/runtime/command_line.hpp"

namespace udptun::tun2socks {

std::vector<runtime::CommandLineOption> describe_options();

}  // namespace udptun::tun2socks
