#include "udptun/runtime/log.hpp"

#include "udptun/runtime/wall_clock.hpp"

#include <cstdio>
#include <cstring>
#include <ctime>

namespace udptun::runtime {

const char* log_level_name(LogLevel l) {
  switch (l) {
    case LogLevel::error:
      return "ERROR";
    case LogLevel::warn:
      return "WARN";
    case LogLevel::info:
      return "INFO";
    case LogLevel::debug:
      return "DEBUG";
  }
  return "?";
}

bool parse_log_level(const std::string& s, LogLevel& out) {
  if (s == "error")
    out = LogLevel::error;
  else if (s == "warn")
    out = LogLevel::warn;
  else if (s == "info")
    out = LogLevel::info;
  else if (s == "debug")
    out = LogLevel::debug;
  else
    return false;
  return true;
}

void Logger::log(LogLevel l, const char* context, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog(l, context, fmt, ap);
  va_end(ap);
}

void Logger::vlog(LogLevel l, const char* context, const char* fmt, va_list ap) {
  if (!enabled(l)) return;
  char raw[1024];
  vsnprintf(raw, sizeof raw, fmt, ap);
  // Keep every event on one line and the terminal sane, whatever a peer managed to put into a
  // message (a GOAWAY text, a name): control bytes are written as \xNN.
  char msg[1024];
  size_t n = 0;
  for (const char* p = raw; *p && n + 5 < sizeof msg; ++p) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c == 0x7f) {
      n += static_cast<size_t>(snprintf(msg + n, sizeof msg - n, "\\x%02x", c));
    } else {
      msg[n++] = *p;
    }
  }
  msg[n] = '\0';
  char line[1200];
  if (context && *context) {
    snprintf(line, sizeof line, "%-5s [%s] %s", log_level_name(l), context, msg);
  } else {
    snprintf(line, sizeof line, "%-5s %s", log_level_name(l), msg);
  }
  if (sink_) {
    sink_(l, line);
    return;
  }
  uint64_t now_ms = wall_clock_ms();
  std::tm utc = utc_calendar(static_cast<std::time_t>(now_ms / 1000));
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::fprintf(stderr, "%s.%03uZ %s\n", stamp, static_cast<unsigned>(now_ms % 1000), line);
}

bool LogThrottle::allow(Logger& log, const char* kind, uint64_t now_ms) {
  Kind* k = nullptr;
  for (auto& e : kinds_) {
    if (std::strcmp(e.name, kind) == 0) k = &e;
  }
  if (!k) {
    kinds_.push_back(Kind{kind, now_ms, 0, 0});
    k = &kinds_.back();
  }
  if (now_ms - k->since_ms >= interval_ms_) {
    summarize(log, *k);
    k->since_ms = now_ms;
    k->logged = 0;
  }
  if (k->logged < burst_) {
    k->logged++;
    return true;
  }
  k->suppressed++;
  suppressed_total_++;
  return false;
}

void LogThrottle::flush(Logger& log, uint64_t now_ms) {
  for (auto& k : kinds_) {
    if (k.suppressed && now_ms - k.since_ms >= interval_ms_) {
      summarize(log, k);
      k.since_ms = now_ms;
      k.logged = 0;
    }
  }
}

void LogThrottle::summarize(Logger& log, Kind& k) {
  if (!k.suppressed) return;
  log.log(LogLevel::warn, "", "%llu more \"%s\" events in the last %llu s (not logged one by one)",
          static_cast<unsigned long long>(k.suppressed), k.name,
          static_cast<unsigned long long>(interval_ms_ / 1000));
  k.suppressed = 0;
}

}  // namespace udptun::runtime
