// An in-process udp-local that runs on another udptun instance's loop and thread instead of a
// thread of its own: what tun2socks embeds, so a datagram crosses no thread either way.
// Internal (C++, not installed): the handle is an ordinary udplocal_t, driven by the C API,
// with one rule more: udplocal_start (which opens and returns), udplocal_stop, udplocal_submit,
// udplocal_free and every callback happen on the host loop's thread; udplocal_run is refused.
#pragma once

#include <cstddef>

#include "udptun/runtime/event_loop.hpp"
#include "udptun/udplocal.h"

namespace udptun::udplocal {

udplocal_t* new_guest(const char* config_json, runtime::EventLoop& host, char* err, size_t errlen);

}  // namespace udptun::udplocal
