#include "udptun/runtime/command_line.hpp"

#include "udptun/runtime/small_file.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace udptun::runtime {

namespace {

struct JsonDeleter {
  void operator()(cJSON* j) const { cJSON_Delete(j); }
};
using Json = std::unique_ptr<cJSON, JsonDeleter>;

// --config FILE, wherever it stands (so flags always override the file): its object, or an
// empty one.
Result<Json> read_config_file(int argc, char** argv, const CommandLineSyntax& syntax) {
  Json config(cJSON_CreateObject());
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") != 0) continue;
    if (i + 1 >= argc) return Status::failure("--config needs a FILE");
    auto text = read_small_file(argv[i + 1], syntax.config_file_limits);
    if (!text.ok()) return text.status();
    config.reset(cJSON_Parse(text->c_str()));
    if (!config || !cJSON_IsObject(config.get()))
      return Status::failure(std::string(argv[i + 1]) + ": not a JSON object");
  }
  return config;
}

Result<unsigned long long> parse_count(const std::string& flag, const char* value) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(value, &end, 10);
  if (errno || !end || *end || *value == '-' || *value == '\0')
    return Status::failure(flag + ": not a non-negative integer: " + value);
  return v;
}

void replace(cJSON* config, const std::string& key, cJSON* item) {
  cJSON_DeleteItemFromObjectCaseSensitive(config, key.c_str());
  cJSON_AddItemToObject(config, key.c_str(), item);
}

// The key's array, made from what the file had there (one string becomes its first element).
cJSON* list_of(cJSON* config, const std::string& key) {
  cJSON* list = cJSON_GetObjectItemCaseSensitive(config, key.c_str());
  if (cJSON_IsArray(list)) return list;
  cJSON* arr = cJSON_CreateArray();
  if (cJSON_IsString(list)) {  // in its place: the file's order is kept
    cJSON_AddItemToArray(arr, cJSON_CreateString(list->valuestring));
    cJSON_ReplaceItemInObjectCaseSensitive(config, key.c_str(), arr);
  } else {
    replace(config, key, arr);
  }
  return arr;
}

// Sets what one flag says; `value` is null for the kinds that take none.
Status apply(cJSON* config, const CommandLineOption& opt, const char* value) {
  using Kind = CommandLineOption::Kind;
  switch (opt.kind) {
    case Kind::flag:
    case Kind::clear_flag:
      replace(config, opt.key, cJSON_CreateBool(opt.kind == Kind::flag));
      return Status::success();
    case Kind::preset:
      replace(config, opt.key, cJSON_CreateString(opt.value_name.c_str()));
      return Status::success();
    case Kind::string:
      replace(config, opt.key, cJSON_CreateString(value));
      return Status::success();
    case Kind::string_list:
      cJSON_AddItemToArray(list_of(config, opt.key), cJSON_CreateString(value));
      return Status::success();
    case Kind::integer:
    case Kind::integer_list: {
      auto v = parse_count(opt.flag, value);
      if (!v.ok()) return v.status();
      cJSON* n = cJSON_CreateNumber(static_cast<double>(v.value()));
      if (opt.kind == Kind::integer)
        replace(config, opt.key, n);
      else
        cJSON_AddItemToArray(list_of(config, opt.key), n);
      return Status::success();
    }
    case Kind::json_only:
      break;
  }
  return Status::failure(opt.flag + " cannot be given on the command line");
}

bool takes_value(CommandLineOption::Kind kind) {
  using Kind = CommandLineOption::Kind;
  return kind == Kind::string || kind == Kind::string_list || kind == Kind::integer ||
         kind == Kind::integer_list;
}

const CommandLineOption* find_option(const std::vector<CommandLineOption>& options,
                                     const std::string& arg) {
  const CommandLineOption* found = nullptr;
  for (const auto& o : options)
    if (!o.flag.empty() && arg == o.flag) found = &o;
  return found;
}

}  // namespace

Result<CommandLine> build_config_from_args(int argc, char** argv,
                                           const std::vector<CommandLineOption>& options,
                                           const CommandLineSyntax& syntax) {
  auto config = read_config_file(argc, argv, syntax);
  if (!config.ok()) return config.status();
  cJSON* root = config->get();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return CommandLine{CommandLineRequest::help, ""};
    if (arg == "--version") return CommandLine{CommandLineRequest::version, ""};
    if (arg == "--manpage") return CommandLine{CommandLineRequest::manpage, ""};
    if (arg == "--config") {
      ++i;
      continue;
    }
    const CommandLineOption* opt = find_option(options, arg);
    if (!opt && syntax.positional_key && !arg.empty() && arg[0] != '-') {
      replace(root, syntax.positional_key, cJSON_CreateString(arg.c_str()));
      continue;
    }
    if (!opt) return Status::failure("unknown option " + arg + " (see --help)");
    const char* value = nullptr;
    if (takes_value(opt->kind)) {
      if (i + 1 >= argc) return Status::failure(arg + " needs a value (" + opt->value_name + ")");
      value = argv[++i];
    }
    if (Status s = apply(root, *opt, value); !s.ok()) return s;
  }
  char* text = cJSON_PrintUnformatted(root);
  CommandLine out{CommandLineRequest::run, text ? text : "{}"};
  cJSON_free(text);
  return out;
}

}  // namespace udptun::runtime
