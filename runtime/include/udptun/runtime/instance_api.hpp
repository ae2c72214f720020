// One description of an instance's C API (udplocal_*, udpserver_*, tun2socks_*), the same
// shape for the three libraries: what a daemon's main() (daemon_main.hpp) and the controller's
// in-process services drive. The including file includes the library's C header.
#pragma once

#include <cstddef>

namespace udptun::runtime {

namespace detail {
// The stats struct a callbacks table reports (udplocal_stats for udplocal_callbacks, ...).
template <class F>
struct StatsArgument;
template <class S>
struct StatsArgument<void (*)(void*, const S*)> {
  using type = S;
};
}  // namespace detail

template <class Handle, class Callbacks>
struct InstanceApi {
  using Stats = typename detail::StatsArgument<decltype(Callbacks::stats)>::type;
  Handle* (*create)(const char* json, char* err, size_t errlen);
  int (*start)(Handle* h, const Callbacks* cb, void* user);
  void (*stop)(Handle* h);
  void (*destroy)(Handle* h);
  void (*get_stats)(Handle* h, Stats* out);
  size_t (*stats_json)(const Stats* stats, char* out, size_t cap);
  // A graceful stop (udpserver_drain): the instance stops by itself once drained. nullptr:
  // the library has none.
  int (*drain)(Handle* h) = nullptr;
};

}  // namespace udptun::runtime

// The table of the library whose C API is PREFIX_new, PREFIX_start, ... (udplocal, udpserver,
// tun2socks): one spelling of it for every user, so the three tables cannot drift apart.
// udpserver's drain is set after it where it is wanted.
#define UDPTUN_INSTANCE_API(prefix)                                                   \
  (::udptun::runtime::InstanceApi<prefix##_t, prefix##_callbacks>{                    \
      prefix##_new, prefix##_start, prefix##_stop, prefix##_free, prefix##_get_stats, \
      prefix##_stats_json})
