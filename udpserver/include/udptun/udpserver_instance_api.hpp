// libudpserver's udpserver_* C API as one table (udptun/runtime/instance_api.hpp): what the
// daemon's main() and proxy-controller's in-process service drive. Internal: not installed.
#pragma once

#include "udptun/runtime/instance_api.hpp"
#include "udptun/udpserver.h"

namespace udptun {

inline runtime::InstanceApi<udpserver_t, udpserver_callbacks> udpserver_instance_api() {
  return {udpserver_new,       udpserver_start,      udpserver_stop, udpserver_free,
          udpserver_get_stats, udpserver_stats_json, udpserver_drain};
}

}  // namespace udptun
