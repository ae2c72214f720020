#include "udptun/runtime/command_line.hpp"

#include "udptun/runtime/small_file.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

namespace udptun::runtime {

namespace {
struct JsonDeleter {
  void operator()(cJSON* j) const { cJSON_Delete(j); }
};
}  // namespace

Result<CommandLine> build_config_from_args(int argc, char** argv,
                                           const std::vector<CommandLineOption>& options,
                                           const CommandLineSyntax& syntax) {
  std::unique_ptr<cJSON, JsonDeleter> config(cJSON_CreateObject());
  // --config first, wherever it stands, so flags always override the file.
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") != 0) continue;
    if (i + 1 >= argc) {
      return Status::failure("--config needs a FILE");
    }
    auto text = read_small_file(argv[i + 1], syntax.config_file_limits);
    if (!text.ok()) return text.status();
    config.reset(cJSON_Parse(text->c_str()));
    if (!config || !cJSON_IsObject(config.get())) {
      return Status::failure(std::string(argv[i + 1]) + ": not a JSON object");
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      return CommandLine{CommandLineRequest::help, ""};
    }
    if (arg == "--version") {
      return CommandLine{CommandLineRequest::version, ""};
    }
    if (arg == "--manpage") {
      return CommandLine{CommandLineRequest::manpage, ""};
    }
    if (arg == "--config") {
      ++i;
      continue;
    }
    const CommandLineOption* opt = nullptr;
    for (const auto& o : options) {
      if (arg == o.flag) opt = &o;
    }
    if (!opt && syntax.positional_key && !arg.empty() && arg[0] != '-') {
      cJSON_DeleteItemFromObjectCaseSensitive(config.get(), syntax.positional_key);
      cJSON_AddStringToObject(config.get(), syntax.positional_key, arg.c_str());
      continue;
    }
    if (!opt) {
      return Status::failure("unknown option " + arg + " (see --help)");
    }
    if (opt->kind == CommandLineOption::Kind::flag ||
        opt->kind == CommandLineOption::Kind::clear_flag) {
      cJSON_DeleteItemFromObjectCaseSensitive(config.get(), opt->key);
      cJSON_AddBoolToObject(config.get(), opt->key, opt->kind == CommandLineOption::Kind::flag);
      continue;
    }
    if (opt->kind == CommandLineOption::Kind::preset) {
      cJSON_DeleteItemFromObjectCaseSensitive(config.get(), opt->key);
      cJSON_AddStringToObject(config.get(), opt->key, opt->value_name);
      continue;
    }
    if (i + 1 >= argc) {
      return Status::failure(arg + " needs a value (" + opt->value_name + ")");
    }
    const char* value = argv[++i];
    switch (opt->kind) {
      case CommandLineOption::Kind::string:
        cJSON_DeleteItemFromObjectCaseSensitive(config.get(), opt->key);
        cJSON_AddStringToObject(config.get(), opt->key, value);
        break;
      case CommandLineOption::Kind::string_list: {
        cJSON* list = cJSON_GetObjectItemCaseSensitive(config.get(), opt->key);
        if (list && cJSON_IsString(list)) {
          cJSON* arr = cJSON_CreateArray();
          cJSON_AddItemToArray(arr, cJSON_CreateString(list->valuestring));
          cJSON_ReplaceItemInObjectCaseSensitive(config.get(), opt->key, arr);
          list = arr;
        } else if (!list || !cJSON_IsArray(list)) {
          cJSON_DeleteItemFromObjectCaseSensitive(config.get(), opt->key);
          list = cJSON_AddArrayToObject(config.get(), opt->key);
        }
        cJSON_AddItemToArray(list, cJSON_CreateString(value));
        break;
      }
      case CommandLineOption::Kind::integer_list: {
        char* end = nullptr;
        errno = 0;
        unsigned long long v = std::strtoull(value, &end, 10);
        if (errno || !end || *end || *value == '-' || *value == '\0') {
          return Status::failure(arg + ": not a non-negative integer: " + value);
        }
        cJSON* list = cJSON_GetObjectItemCaseSensitive(config.get(), opt->key);
        if (!list || !cJSON_IsArray(list)) {
          cJSON_DeleteItemFromObjectCaseSensitive(config.get(), opt->key);
          list = cJSON_AddArrayToObject(config.get(), opt->key);
        }
        cJSON_AddItemToArray(list, cJSON_CreateNumber(static_cast<double>(v)));
        break;
      }
      case CommandLineOption::Kind::integer: {
        char* end = nullptr;
        errno = 0;
        unsigned long long v = std::strtoull(value, &end, 10);
        if (errno || !end || *end || *value == '-' || *value == '\0') {
          return Status::failure(arg + ": not a non-negative integer: " + value);
        }
        cJSON_DeleteItemFromObjectCaseSensitive(config.get(), opt->key);
        cJSON_AddNumberToObject(config.get(), opt->key, static_cast<double>(v));
        break;
      }
      case CommandLineOption::Kind::flag:
      case CommandLineOption::Kind::clear_flag:
      case CommandLineOption::Kind::preset:
        break;
    }
  }
  char* text = cJSON_PrintUnformatted(config.get());
  CommandLine out{CommandLineRequest::run, text ? text : "{}"};
  cJSON_free(text);
  return out;
}

}  // namespace udptun::runtime
