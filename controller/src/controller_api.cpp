// The C API over Controller: no exception crosses it, every failure is a return code or message.
#include <cerrno>
#include <cstdio>
#include <memory>

#include "controller.hpp"
#include "udptun/controller.h"
#include "udptun/runtime/c_api_shim.hpp"
#include "udptun/runtime/config_reader.hpp"

struct proxy_controller {
  udptun::controller::ControllerConfig config;
  std::unique_ptr<udptun::controller::Controller> controller;
  proxy_controller_callbacks cb{};
  void* user = nullptr;
};

namespace {

udptun::Result<udptun::controller::ControllerConfig> parse_config(const char* json) {
  using udptun::Status;
  udptun::controller::ControllerConfig c;
  udptun::runtime::ConfigReader r(json && *json ? json : "{}");
  if (!r.ok() || !udptun::runtime::read_options(udptun::controller::controller_options(), r, c) ||
      !r.no_unknown_keys())
    return Status::failure(r.error());
  // Declarations are checked now, so a typo is a clear error at start, not a surprise later.
  udptun::controller::ServiceCatalog catalog;
  cJSON* declared = cJSON_Parse(c.services_json.empty() ? "{}" : c.services_json.c_str());
  Status loaded = catalog.load(declared);
  cJSON_Delete(declared);
  if (!loaded.ok()) return loaded;
  if (c.socket_path.empty() || c.state_dir.empty())
    return Status::failure("\"socket\" and \"state_dir\" must not be empty");
  return c;
}

void prepare(proxy_controller_t* c, const proxy_controller_callbacks* cb, void* user) {
  if (cb) c->cb = *cb;
  c->user = user;
  c->config.on_fatal = [c](const std::string& why) {
    if (c->cb.error) c->cb.error(c->user, why.c_str());
  };
  c->controller = std::make_unique<udptun::controller::Controller>(c->config);
}

}  // namespace

extern "C" {

proxy_controller_t* proxy_controller_new(const char* config_json, char* err, size_t errlen) {
  try {
    auto config = parse_config(config_json);
    if (!config.ok()) {
      udptun::runtime::copy_c_error(err, errlen, config.message());
      return nullptr;
    }
    auto handle = std::make_unique<proxy_controller>();
    handle->config = std::move(config).value();
    return handle.release();
  } catch (const std::exception& e) {
    udptun::runtime::copy_c_error(err, errlen, e.what());
    return nullptr;
  }
}

int proxy_controller_start(proxy_controller_t* c, const proxy_controller_callbacks* cb,
                           void* user) {
  if (!c || c->controller) return -EINVAL;
  try {
    prepare(c, cb, user);
    return c->controller->start();
  } catch (...) {
    return -ENOMEM;
  }
}

int proxy_controller_run(proxy_controller_t* c, const proxy_controller_callbacks* cb, void* user) {
  if (!c || c->controller) return -EINVAL;
  try {
    prepare(c, cb, user);
    return c->controller->run();
  } catch (...) {
    return -ENOMEM;
  }
}

void proxy_controller_stop(proxy_controller_t* c) {
  if (c && c->controller) c->controller->stop();
}

void proxy_controller_free(proxy_controller_t* c) {
  delete c;  // ~Controller stops and joins
}

}  // extern "C"
