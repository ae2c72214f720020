// Small files (a key, a configuration, a journal). Reading trusts nothing the path names:
// opened non-blocking (a FIFO cannot hang the loop), regular files only (not /dev/zero, not a
// device), never more than a stated size. Writing replaces a file in one step.
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

// Writes `body` to PATH.tmp (a fresh file, mode 0600, never through a link planted there),
// optionally fsyncs it, and renames it over `path`: readers see the old file or the new one,
// never half of one. false with `error` naming the file.
bool replace_small_file(const std::string& path, const std::string& body, bool sync,
                        std::string& error);

}  // namespace udptun::runtime
