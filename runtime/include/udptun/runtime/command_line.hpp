// Command lines of the daemons: every flag is a JSON configuration key, so a table of
// options drives parsing, --config merging and --help alike.
#pragma once

#include <cJSON.h>

#include <string>
#include <vector>

namespace udptun::runtime {

struct CommandLineOption {
  // flag sets the key to true, clear_flag to false.
  enum class Kind { string, string_list, integer, integer_list, flag, clear_flag };
  const char* flag;  // "--listen"
  const char* key;   // "listen"
  Kind kind;
  const char* value_name;  // "ADDR:PORT" (empty for flags)
  const char* help;
};

// Builds the configuration JSON: the --config FILE object (if given), then each flag on top
// (list flags append). Returns false with `error` set on a bad flag, value or file;
// sets `help` when --help was asked for.
bool build_config_from_args(int argc, char** argv, const std::vector<CommandLineOption>& options,
                            std::string& json_out, std::string& error, bool& help);

std::string usage_text(const char* program, const char* summary,
                       const std::vector<CommandLineOption>& options);

// Blocks SIGINT/SIGTERM/SIGHUP in this thread (and the threads it starts) and waits for one.
void block_stop_signals();
int wait_for_stop_signal();
// Wakes wait_for_stop_signal from any thread (e.g. after a fatal error in the instance).
void raise_stop_signal();
// Starts this program again with the same arguments, signals unblocked, `keep_fd` (if >= 0,
// e.g. the --stats-fd channel) still open in it: a successor for a planned restart. "" or
// why not.
std::string start_successor(char** argv, int keep_fd);
// Tells systemd (Type=notify, $NOTIFY_SOCKET) that we are ready and which process is the
// service's main one now — a successor says so after SIGHUP. Nothing without systemd.
void notify_service_manager();

}  // namespace udptun::runtime
