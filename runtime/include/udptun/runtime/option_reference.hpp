// Options as documentation: docs/CONFIG.md's tables and the plain text --help and the man page
// show, from the same descriptions (describe() of an OptionTable).
#pragma once

#include <string>
#include <vector>

#include "udptun/runtime/command_line.hpp"

namespace udptun::runtime {

// | flag | JSON key | default | values | meaning |, a row per option, in table order.
std::string options_markdown_table(const std::vector<CommandLineOption>& options);

// Markdown's inline marks taken out: `code` loses its backticks, [text](link) keeps its text.
std::string plain_text(const std::string& markdown);

// What --help says of an option: its help, and its default when there is one worth saying.
std::string help_line(const CommandLineOption& option);

// What the man page says: the documentation (or help) in plain text, the default and values.
std::string manual_text(const CommandLineOption& option);

}  // namespace udptun::runtime
