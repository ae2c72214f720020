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
  std::string level;
  uint64_t request_bytes = c.max_request_bytes, output_bytes = c.max_output_bytes,
           connections = c.max_connections, services = c.max_services;
  std::string user;
  bool ok = r.ok() && r.get_string("socket", c.socket_path) &&
            r.get_string("socket_group", c.socket_group) &&
            r.get_string("state_dir", c.state_dir) && r.get_string("bin_dir", c.bin_dir) &&
            r.get_uint("max_quick_restarts", 0, 1000, c.max_quick_restarts) &&
            r.get_uint("max_request_bytes", 1024, 16u << 20, request_bytes) &&
            r.get_uint("max_output_bytes", 64u << 10, 256u << 20, output_bytes) &&
            r.get_uint("max_connections", 1, 100000, connections) &&
            r.get_uint("max_services", 1, 10000, services) && r.get_string("service_user", user) &&
            r.get_object("services", c.services_json) && r.get_string("log_level", level) &&
            r.get_ip_endpoint("metrics", c.metrics) && r.no_unknown_keys();
  if (!ok) return Status::failure(r.error());
  c.max_request_bytes = request_bytes;
  c.max_output_bytes = output_bytes;
  c.max_connections = connections;
  c.max_services = services;
  if (!user.empty()) {
    c.service_user = user;
    c.service_user_is_default = false;
  }
  // Declarations are checked now, so a typo is a clear error at start, not a surprise later.
  udptun::controller::ServiceCatalog catalog;
  cJSON* declared = cJSON_Parse(c.services_json.empty() ? "{}" : c.services_json.c_str());
  Status loaded = catalog.load(declared);
  cJSON_Delete(declared);
  if (!loaded.ok()) return loaded;
  if (c.socket_path.empty() || c.state_dir.empty())
    return Status::failure("\"socket\" and \"state_dir\" must not be empty");
  if (Status e = udptun::runtime::read_log_level(level, c.log_level); !e.ok()) return e;
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
