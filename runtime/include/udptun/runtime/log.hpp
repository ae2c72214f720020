// Leveled, one-line-per-event logging. Each instance (server, client) has its own Logger, so
// several instances in one process never share state; lines carry session and flow ids.
#pragma once

// MinGW's `printf` archetype is msvcrt's; we print through C99 vsnprintf everywhere
// (__USE_MINGW_ANSI_STDIO), so %zu and %llu are checked as GNU's.
#ifdef __MINGW32__
#define UDPTUN_PRINTF_FORMAT gnu_printf
#else
#define UDPTUN_PRINTF_FORMAT printf
#endif

#include <cstdarg>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace udptun::runtime {

enum class LogLevel : int { error = 0, warn = 1, info = 2, debug = 3 };

const char* log_level_name(LogLevel l);
bool parse_log_level(const std::string& s, LogLevel& out);

class Logger {
 public:
  // Receives each finished line (without a trailing newline). Without a sink, lines go to
  // stderr with a UTC timestamp.
  using Sink = std::function<void(LogLevel, const char* line)>;

  void set_level(LogLevel l) { level_ = l; }
  LogLevel level() const { return level_; }
  void set_sink(Sink s) { sink_ = std::move(s); }
  bool enabled(LogLevel l) const { return static_cast<int>(l) <= static_cast<int>(level_); }

  // context is e.g. "s=1a2b3c4d f=7" or "" ; fmt is printf-style.
  void log(LogLevel l, const char* context, const char* fmt, ...)
      __attribute__((format(UDPTUN_PRINTF_FORMAT, 4, 5)));
  void vlog(LogLevel l, const char* context, const char* fmt, va_list ap)
      __attribute__((format(UDPTUN_PRINTF_FORMAT, 4, 0)));

 private:
  LogLevel level_ = LogLevel::info;
  Sink sink_;
};

// Events a peer can repeat at will (refused handshakes, refused connections): the first
// `burst` of each kind per interval are logged, the rest only counted, and one summary line
// per kind says how many were left out. Without it one flooder writes the disk full.
class LogThrottle {
 public:
  explicit LogThrottle(uint64_t interval_ms = 10'000, uint32_t burst = 5)
      : interval_ms_(interval_ms), burst_(burst) {}
  // true: log this event. Prints the summary of the last interval first when one is due.
  bool allow(Logger& log, const char* kind, uint64_t now_ms);
  // Summaries of intervals that ended (call from a timer, so a flood that stops is told).
  void flush(Logger& log, uint64_t now_ms);
  uint64_t suppressed_total() const { return suppressed_total_; }

 private:
  struct Kind {
    const char* name;
    uint64_t since_ms = 0;
    uint32_t logged = 0;
    uint64_t suppressed = 0;
  };
  void summarize(Logger& log, Kind& k);
  uint64_t interval_ms_;
  uint32_t burst_;
  uint64_t suppressed_total_ = 0;
  std::vector<Kind> kinds_;  // a handful of kinds, each a string literal
};

}  // namespace udptun::runtime

// The same as LOG_WARN, through a LogThrottle (kind: a string literal naming the event).
#define LOG_WARN_THROTTLED(logger, throttle, kind, now_ms, ctx, ...)       \
  do {                                                                     \
    if ((logger).enabled(::udptun::runtime::LogLevel::warn) &&             \
        (throttle).allow((logger), (kind), (now_ms)))                      \
      (logger).log(::udptun::runtime::LogLevel::warn, (ctx), __VA_ARGS__); \
  } while (0)

// Logging macros skip formatting entirely when the level is off (hot paths log at debug).
#define UDPTUN_LOG(logger, lvl, ctx, ...)                               \
  do {                                                                  \
    if ((logger).enabled(lvl)) (logger).log((lvl), (ctx), __VA_ARGS__); \
  } while (0)
#define LOG_ERROR(logger, ctx, ...) \
  UDPTUN_LOG(logger, ::udptun::runtime::LogLevel::error, ctx, __VA_ARGS__)
#define LOG_WARN(logger, ctx, ...) \
  UDPTUN_LOG(logger, ::udptun::runtime::LogLevel::warn, ctx, __VA_ARGS__)
#define LOG_INFO(logger, ctx, ...) \
  UDPTUN_LOG(logger, ::udptun::runtime::LogLevel::info, ctx, __VA_ARGS__)
#define LOG_DEBUG(logger, ctx, ...) \
  UDPTUN_LOG(logger, ::udptun::runtime::LogLevel::debug, ctx, __VA_ARGS__)
