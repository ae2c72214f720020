// libudplocal's udplocal_* C API as one table (udptun/runtime/instance_api.hpp): what the daemon's
// main() and proxy-controller's in-process service drive. Internal: not installed.
#pragma once

#include "udptun/runtime/instance_api.hpp"
#include "udptun/udplocal.h"

namespace udptun {

inline runtime::InstanceApi<udplocal_t, udplocal_callbacks> udplocal_instance_api() {
  return {udplocal_new,  udplocal_start,     udplocal_stop,
          udplocal_free, udplocal_get_stats, udplocal_stats_json};
}

}  // namespace udptun
