// Wall-clock time (for stamps people read and for records that outlive the process);
// intervals use the loop's monotonic clock instead.
#pragma once

#include <uv.h>

#include <cstdint>
#include <ctime>

namespace udptun::runtime {

inline uint64_t wall_clock_ms() {
  uv_timeval64_t tv{};
  uv_gettimeofday(&tv);
  return static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>(tv.tv_usec) / 1000;
}

// Calendar fields in UTC of `seconds` since the epoch.
inline std::tm utc_calendar(std::time_t seconds) {
  std::tm utc{};
#ifdef _WIN32
  gmtime_s(&utc, &seconds);
#else
  gmtime_r(&seconds, &utc);
#endif
  return utc;
}

}  // namespace udptun::runtime
