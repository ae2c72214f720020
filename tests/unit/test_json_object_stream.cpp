#include <string>

#include "cmocka_support.hpp"
#include "udptun/protocol/json_object_stream.hpp"

using namespace udptun::protocol;

static ByteView view(const std::string& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

static void test_objects_without_newlines_any_split(void**) {
  // How GUI clients write: objects back to back, no separator; strings hold braces.
  std::string stream =
      R"({"action":"configureRouting","parameters":{"proxyIp":"1.2.3.4","routerIp":"10.0.85.1"}})"
      R"({"action":"x","parameters":{"s":"a}b{c\"}"}})"
      "\n"
      R"({"action":"status","list":[1,{"a":[2]}]})";
  for (size_t k = 0; k <= stream.size(); ++k) {
    JsonObjectStream js(4096);
    std::vector<std::string> out;
    assert_null(js.feed(view(stream.substr(0, k)), out));
    assert_null(js.feed(view(stream.substr(k)), out));
    assert_int_equal(out.size(), 3);
    assert_string_equal(out[1].c_str(), R"({"action":"x","parameters":{"s":"a}b{c\"}"}})");
    assert_int_equal(js.buffered(), 0);
  }
}

static void test_garbage_and_oversize_are_errors(void**) {
  JsonObjectStream js(64);
  std::vector<std::string> out;
  assert_non_null(js.feed(view("hello"), out));
  js.reset();
  assert_null(js.feed(view("  \r\n\t"), out));
  assert_non_null(js.feed(view("[1,2]"), out));
  js.reset();
  std::string big = "{\"a\":\"" + std::string(100, 'x') + "\"}";
  const char* why = js.feed(view(big), out);
  assert_non_null(why);
  assert_non_null(strstr(why, "too large"));
  js.reset();
  // Found by fuzz_control_requests: a ']' closing a '{' must not end the object.
  assert_non_null(js.feed(view(R"({"a":"b"c]")"), out));
  js.reset();
  assert_non_null(js.feed(view(std::string(65, '{')), out));
  js.reset();
  assert_null(js.feed(view("{}"), out));
  assert_int_equal(out.size(), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_objects_without_newlines_any_split),
      cmocka_unit_test(test_garbage_and_oversize_are_errors),
  };
  return cmocka_run_group_tests_name("json_object_stream", tests, nullptr, nullptr);
}
