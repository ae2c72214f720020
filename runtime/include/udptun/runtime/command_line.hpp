// Command lines of the daemons: every flag is a JSON configuration key, so a table of
// options drives parsing, --config merging, --help and the man page alike.
#pragma once

#include <cJSON.h>

#include <string>
#include <vector>

#include "udptun/protocol/status.hpp"
#include "udptun/runtime/small_file.hpp"

namespace udptun::runtime {

// One option as the command line, --help, the man page and docs/CONFIG.md show it. The
// libraries' options come from their OptionTable (option_table.hpp), which fills every field;
// a program's own (proxy-controller's, udptunctl's) may give just the first five.
struct CommandLineOption {
  // flag sets the key to true, clear_flag to false, preset to the string in value_name
  // (proxy-controller's -d: "log_level": "debug"); json_only has no flag at all.
  enum class Kind {
    string,
    string_list,
    integer,
    integer_list,
    flag,
    clear_flag,
    preset,
    json_only
  };
  std::string flag;  // "--listen" (empty for json_only)
  std::string key;   // "listen"
  Kind kind;
  std::string value_name;  // "ADDR:PORT" (empty for flags)
  std::string help;        // --help's line, without the default
  std::string doc = {};    // CONFIG.md's and the man page's text (markdown), when more than help
  std::string default_value = {};  // "1000", "none", "from the descriptor limit"
  std::string values = {};         // what it takes: "1..16", "auto, on, off"
  // It names a file, a directory or a socket: only root may give it to a service
  // proxy-controller starts (a member of the socket group may not).
  bool names_path = false;
};

struct CommandLineSyntax {
  // A bare argument sets this key (proxy-controller's SOCKET_PATH); none: it is an error.
  const char* positional_key = nullptr;
  FileLimits config_file_limits{};  // what --config FILE must satisfy
};

// What the command line asks for besides running: --help, --version, --manpage.
enum class CommandLineRequest { run, help, version, manpage };

struct CommandLine {
  CommandLineRequest request = CommandLineRequest::run;
  std::string json;  // the configuration, when the request is to run
};

// Builds the configuration JSON: the --config FILE object (if given), then each flag on top
// (list flags append). A failure names the bad flag, value or file.
Result<CommandLine> build_config_from_args(int argc, char** argv,
                                           const std::vector<CommandLineOption>& options,
                                           const CommandLineSyntax& syntax);

}  // namespace udptun::runtime
