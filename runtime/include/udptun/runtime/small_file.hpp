// Small files (a key, a configuration, a journal). Reading trusts nothing the path names:
// opened non-blocking (a FIFO cannot hang the loop), regular files only (not /dev/zero, not a
// device), never more than a stated size. Writing replaces a file in one step.
#pragma once

#include <cstddef>
#include <string>

#include "udptun/protocol/status.hpp"

namespace udptun::runtime {

struct FileLimits {
  size_t max_bytes = 1 << 20;
  // Refuse a file that someone other than its owner may write, or whose owner is neither
  // root nor us: what a root daemon acts on must be root's decision.
  bool owner_only_writable = false;
  // Refuse a path whose last component is a symbolic link (O_NOFOLLOW): a record that
  // someone planted a link in place of must not be read from wherever it points.
  bool no_follow = false;
};

// Its contents, or a failure naming the file and the reason.
Result<std::string> read_small_file(const std::string& path, const FileLimits& limits);

// Writes `body` to PATH.tmp (a fresh file, mode 0600, never through a link planted there),
// optionally fsyncs it, and renames it over `path`: readers see the old file or the new one,
// never half of one. A failure names the file.
Status replace_small_file(const std::string& path, const std::string& body, bool sync);

}  // namespace udptun::runtime
