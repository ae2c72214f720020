// Command lines of the daemons: every flag is a JSON configuration key, so a table of
// options drives parsing, --config merging, --help and the man page alike.
#pragma once

#include <cJSON.h>

#include <string>
#include <vector>

#include "udptun/protocol/status.hpp"
#include "udptun/runtime/small_file.hpp"

namespace udptun::runtime {

struct CommandLineOption {
  // flag sets the key to true, clear_flag to false, preset to the string in value_name
  // (proxy-controller's -d: "log_level": "debug").
  enum class Kind { string, string_list, integer, integer_list, flag, clear_flag, preset };
  const char* flag;  // "--listen"
  const char* key;   // "listen"
  Kind kind;
  const char* value_name;  // "ADDR:PORT" (empty for flags)
  const char* help;
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
