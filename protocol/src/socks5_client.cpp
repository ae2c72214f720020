#include "udptun/protocol/socks5_client.hpp"

namespace udptun::protocol::socks5 {

ClientHandshake::ClientHandshake(Command command, const Address& destination, std::string user,
                                 std::string password)
    : command_(command),
      destination_(destination),
      user_(std::move(user)),
      password_(std::move(password)) {}

std::vector<uint8_t> ClientHandshake::start() {
  Greeting g;
  g.methods[g.method_count++] = method::kNoAuth;
  if (!user_.empty()) g.methods[g.method_count++] = method::kUserPass;
  std::vector<uint8_t> out;
  ByteWriter w(out);
  encode_greeting(w, g);
  return out;
}

ClientHandshake::Status ClientHandshake::fail_with(const char* why) {
  error_ = why;
  stage_ = Stage::finished;
  return Status::failed;
}

ClientHandshake::Status ClientHandshake::feed(ByteView in, std::vector<uint8_t>& out,
                                              size_t& consumed) {
  consumed = 0;
  ByteWriter w(out);
  while (true) {
    ByteView rest = in.after(consumed);
    switch (stage_) {
      case Stage::method: {
        auto m = decode_method_selection(rest);
        if (m.need_more()) return Status::need_more;
        if (m.failed()) return fail_with(m.error);
        consumed += m.consumed;
        if (m.value.method == method::kUserPass && !user_.empty()) {
          encode_user_pass_request(w, user_, password_);
          stage_ = Stage::auth;
        } else if (m.value.method == method::kNoAuth) {
          encode_request(w, Request{command_, destination_});
          stage_ = Stage::reply;
        } else {
          return fail_with("the SOCKS5 server accepts none of our authentication methods");
        }
        break;
      }
      case Stage::auth: {
        auto s = decode_user_pass_status(rest);
        if (s.need_more()) return Status::need_more;
        if (s.failed()) return fail_with(s.error);
        consumed += s.consumed;
        if (s.value.status != 0)
          return fail_with("the SOCKS5 server refused our username/password");
        encode_request(w, Request{command_, destination_});
        stage_ = Stage::reply;
        break;
      }
      case Stage::reply: {
        auto r = decode_reply(rest);
        if (r.need_more()) return Status::need_more;
        if (r.failed()) return fail_with(r.error);
        consumed += r.consumed;
        reply_ = r.value;
        stage_ = Stage::finished;
        if (reply_.reply != Reply::succeeded) return fail_with(reply_name(reply_.reply));
        return Status::done;
      }
      case Stage::finished:
        return error_ ? Status::failed : Status::done;
    }
  }
}

}  // namespace udptun::protocol::socks5
