#include "udptun/runtime/name_resolver.hpp"

#include <cstring>
#include <memory>
#include <string>

namespace udptun::runtime {

struct NameResolver::Request {
  uv_getaddrinfo_t req;
  NameResolver* owner = nullptr;
  bool prefer_ipv4 = false;
  Done done;
};

Status NameResolver::resolve(const protocol::Address& name, const Query& query, Done done) {
  cancel();
  auto request = std::make_unique<Request>();
  request->owner = this;
  request->prefer_ipv4 = query.prefer_ipv4;
  request->done = std::move(done);
  request->req.data = request.get();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = query.socktype;
  if (query.configured_families_only) hints.ai_flags = AI_ADDRCONFIG;
  std::string host(name.domain_name());
  std::string port = std::to_string(name.port);
  int rc =
      uv_getaddrinfo(loop_.get(), &request->req, on_resolved, host.c_str(), port.c_str(), &hints);
  if (rc != 0) return Status::failure(uv_strerror(rc), rc);
  request_ = request.release();
  return Status::success();
}

void NameResolver::cancel() {
  if (!request_) return;
  request_->owner = nullptr;  // its callback frees it and reports to nobody
  request_ = nullptr;
}

void NameResolver::on_resolved(uv_getaddrinfo_t* r, int status, struct addrinfo* res) {
  std::unique_ptr<Request> request(static_cast<Request*>(r->data));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> answers(res, uv_freeaddrinfo);
  if (!request->owner) return;
  request->owner->request_ = nullptr;
  if (status != 0 || !res) {
    request->done(Status::failure(status ? uv_strerror(status) : "the name has no address",
                                  status ? status : Status::kFailed));
    return;
  }
  const addrinfo* pick = res;
  if (request->prefer_ipv4) {
    for (const addrinfo* a = res; a; a = a->ai_next) {
      if (a->ai_family == AF_INET) {
        pick = a;
        break;
      }
    }
  }
  sockaddr_storage address{};
  std::memcpy(&address, pick->ai_addr, pick->ai_addrlen);
  Done done = std::move(request->done);
  done(address);  // may destroy the owner: nothing of it is touched after this
}

}  // namespace udptun::runtime
