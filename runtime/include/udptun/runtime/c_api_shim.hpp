// The C API over an instance class, written once for udplocal_*, udpserver_* and tun2socks_*:
// the opaque handle owns the instance, a null handle is -EINVAL, and no exception crosses (the
// only ones the instances can throw are allocation failures: -ENOMEM).
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "udptun/protocol/status.hpp"
#include "udptun/runtime/stats_json.hpp"

namespace udptun::runtime {

// What `struct udplocal` (and the others) are: `struct udplocal : CApiHandle<Client> {};`.
template <class Instance>
struct CApiHandle {
  std::unique_ptr<Instance> instance;
};

inline void copy_c_error(char* err, size_t errlen, const std::string& message) {
  if (err && errlen) std::snprintf(err, errlen, "%s", message.c_str());
}

// *_new: the configuration parsed by `parse` (json → Result<Config>) into a new instance
// (constructed from it and `more`), or nullptr with the reason in `err`.
template <class Handle, class Instance, class Parse, class... More>
Handle* c_api_new(const char* json, char* err, size_t errlen, Parse parse, More&&... more) {
  try {
    if (!json) {
      copy_c_error(err, errlen, "no configuration");
      return nullptr;
    }
    auto config = parse(json);
    if (!config.ok()) {
      copy_c_error(err, errlen, config.message());
      return nullptr;
    }
    auto handle = std::make_unique<Handle>();
    handle->instance =
        std::make_unique<Instance>(std::move(config).value(), std::forward<More>(more)...);
    return handle.release();
  } catch (const std::exception& e) {
    copy_c_error(err, errlen, e.what());
    return nullptr;
  }
}

// A call returning 0 or a negative code: fn(instance).
template <class Handle, class Fn>
int c_api_call(Handle* h, Fn&& fn) {
  if (!h) return -EINVAL;
  try {
    return fn(*h->instance);
  } catch (...) {
    return -ENOMEM;
  }
}

// *_stats_json: fill(StatsJson&, stats) names each counter; the JSON object copied into `out`.
// 0 (and "" when there is room) for no stats or no memory.
template <class Stats, class Fill>
size_t c_api_stats_json(const Stats* stats, char* out, size_t cap, Fill fill) {
  if (out && cap) *out = '\0';
  if (!stats) return 0;
  try {
    StatsJson json;
    fill(json, *stats);
    return json.copy_to(out, cap);
  } catch (...) {
    if (out && cap) *out = '\0';
    return 0;
  }
}

}  // namespace udptun::runtime
