// A cJSON tree owned for one scope, for the controller's files.
#pragma once

#include <cJSON.h>

namespace udptun::controller {

struct Json {
  cJSON* p;
  explicit Json(cJSON* j) : p(j) {}
  ~Json() { cJSON_Delete(p); }
  Json(const Json&) = delete;
  Json& operator=(const Json&) = delete;
};

}  // namespace udptun::controller
