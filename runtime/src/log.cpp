#include "udptun/runtime/log.hpp"

#include <sys/time.h>

#include <cstdio>
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
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  // Keep every event on one line, whatever a peer managed to put into a message.
  for (char* p = msg; *p; ++p) {
    if (*p == '\n' || *p == '\r') *p = ' ';
  }
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
  timeval tv;
  gettimeofday(&tv, nullptr);
  tm utc;
  gmtime_r(&tv.tv_sec, &utc);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::fprintf(stderr, "%s.%03ldZ %s\n", stamp, static_cast<long>(tv.tv_usec / 1000), line);
}

}  // namespace udptun::runtime
