#include "portable_harness.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

#ifdef _WIN32
#include <windows.h>
// after windows.h
#include <psapi.h>
#else
#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <string>
#endif

namespace harness {

bool eventually(const std::function<bool()>& pred, int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

#ifdef _WIN32
int own_open_handles() {
  DWORD n = 0;
  // A process always holds some handles: 0 means the count is not kept (Wine).
  if (!GetProcessHandleCount(GetCurrentProcess(), &n) || n == 0) return -1;
  return static_cast<int>(n);
}

long own_resident_kib() {
  PROCESS_MEMORY_COUNTERS pmc{};
  if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc)) return -1;
  return static_cast<long>(pmc.WorkingSetSize / 1024);
}
#else
int own_open_handles() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
  }
  return n - 1;  // the directory being read is one of them
}

long own_resident_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}
#endif

void report_skip(const char* why) {
  std::printf("SKIP: %s\n", why);
  std::fflush(stdout);
}

const char* own_rss_unjudgeable() {
#if defined(UDPTUN_TEST_ASAN)
  return "AddressSanitizer's quarantine holds freed memory; LeakSanitizer checks at exit";
#elif defined(UDPTUN_TEST_EMULATED)
  return "under emulation (QEMU, Wine) the emulator's own memory counts in it";
#else
  return nullptr;
#endif
}

}  // namespace harness
