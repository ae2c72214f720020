// libtun2socks's tun2socks_* C API as one table (udptun/runtime/instance_api.hpp): what the
// daemon's main() and proxy-controller's in-process service drive. Internal: not installed.
#pragma once

#include "udptun/runtime/instance_api.hpp"
#include "udptun/tun2socks.h"

namespace udptun {

inline runtime::InstanceApi<tun2socks_t, tun2socks_callbacks> tun2socks_instance_api() {
  return {tun2socks_new,  tun2socks_start,     tun2socks_stop,
          tun2socks_free, tun2socks_get_stats, tun2socks_stats_json};
}

}  // namespace udptun
