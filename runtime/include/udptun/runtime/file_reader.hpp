// Reading a small file (a key, a configuration, a journal) without trusting what the path
// names: opened non-blocking (a FIFO cannot hang the loop), regular files only (not
// /dev/zero, not a device), and never more than a stated size.
#pragma once

#include <cstddef>
#include <string>

namespace udptun::runtime {

struct FileLimits {
  size_t max_bytes = 1 << 20;
  // Refuse a file that someone other than its owner may write, or whose owner is neither
  // root nor us: what a root daemon acts on must be root's decision.
  bool owner_only_writable = false;
};

// false with `error` naming the file and the reason.
bool read_small_file(const std::string& path, const FileLimits& limits, std::string& out,
                     std::string& error);

}  // namespace udptun::runtime
