#include <string>

#include "cmocka_support.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/frame_decoder.hpp"
#include "udptun/protocol/sequence_window.hpp"

using namespace udptun::protocol;
using test::bytes;

static Address v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  uint8_t ip[4] = {a, b, c, d};
  return Address::ipv4(ip, port);
}
static Address v6_loopback(uint16_t port) {
  uint8_t ip[16] = {0};
  ip[15] = 1;
  return Address::ipv6(ip, port);
}

static std::vector<uint8_t> encoded(const Frame& f) {
  std::vector<uint8_t> out;
  append_frame(out, f);
  return out;
}

// Frames compare by their wire form: two frames are the same when they encode the same.
static bool same(const Frame& a, const Frame& b) {
  return encoded(a) == encoded(b);
}

static std::vector<Frame> sample_frames(const std::string& payload) {
  OpenFlow open{7, *Address::from_domain("example.com", 53), true, v4(10, 0, 0, 2, 40000)};
  OpenFlow open_v6{8, v6_loopback(5001), false, {}};
  Data to_target{
      7, false, {}, ByteView(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())};
  Data reply_other{7, true, v4(192, 0, 2, 9, 3478),
                   ByteView(reinterpret_cast<const uint8_t*>("hi"), 2)};
  Data empty{8, false, {}, ByteView()};
  GoAway bye{GoAwayReason::shutting_down, ByteView(reinterpret_cast<const uint8_t*>("restart"), 7)};
  FlowStatus st{7, FlowState::open, true, v4(0, 0, 0, 0, 61000)};
  FlowStatus refused{9, FlowState::target_forbidden, false, {}};
  Extension ext{0x7E, 0x80, ByteView(reinterpret_cast<const uint8_t*>("future"), 6)};
  SequencedData seq{7,
                    0xFFFFFFFE,
                    false,
                    {},
                    ByteView(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())};
  SequencedData seq_from{7, 3, true, v4(192, 0, 2, 9, 3478),
                         ByteView(reinterpret_cast<const uint8_t*>("hi"), 2)};
  return {open,
          open_v6,
          to_target,
          reply_other,
          empty,
          CloseFlow{7, CloseReason::idle},
          Ping{0x0102030405060708ull},
          Pong{42},
          bye,
          st,
          refused,
          Lanes{4, lane_feature::kSequenced},
          seq,
          seq_from,
          ext};
}

static void test_every_frame_round_trips(void**) {
  const std::string payload = "hello";  // the frames' views point into it
  for (const Frame& f : sample_frames(payload)) {
    auto wire = encoded(f);
    Frame back = test::assert_parses_only_when_whole(decode_frame, wire);
    assert_int_equal(back.index(), f.index());
    assert_true(same(back, f));
  }
}

static void test_exact_bytes_of_data_and_ping(void**) {
  Data d{0x01020304, false, {}, ByteView(reinterpret_cast<const uint8_t*>("ab"), 2)};
  assert_true(encoded(d) == bytes({0x02, 0x00, 0, 0, 0, 6, 1, 2, 3, 4, 'a', 'b'}));
  Data r{1, true, v4(1, 2, 3, 4, 0x1234), ByteView(reinterpret_cast<const uint8_t*>("z"), 1)};
  assert_true(encoded(r) ==
              bytes({0x02, 0x01, 0, 0, 0, 12, 0, 0, 0, 1, 0x01, 1, 2, 3, 4, 0x12, 0x34, 'z'}));
  assert_true(encoded(Ping{1}) == bytes({0x04, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1}));
}

// The extensions this build knows, byte by byte (docs/PROTOCOL.md §3).
static void test_exact_bytes_of_lanes_and_sequenced_data(void**) {
  assert_true(encoded(Lanes{2, lane_feature::kSequenced}) == bytes({0x40, 0, 0, 0, 0, 2, 2, 1}));
  SequencedData d{
      0x01020304, 0x0A0B0C0D, false, {}, ByteView(reinterpret_cast<const uint8_t*>("ab"), 2)};
  assert_true(encoded(d) ==
              bytes({0x41, 0x00, 0, 0, 0, 10, 1, 2, 3, 4, 0x0A, 0x0B, 0x0C, 0x0D, 'a', 'b'}));
  std::string payload(1200, 'g');
  Address src = v4(10, 0, 0, 1, 7);
  for (const Address* a : std::initializer_list<const Address*>{nullptr, &src}) {
    uint8_t prefix[kMaxSequencedPrefix];
    size_t n = encode_sequenced_prefix(prefix, 9, 77, a, payload.size());
    std::vector<uint8_t> joined(prefix, prefix + n);
    test::append(joined, bytes(payload));
    SequencedData s{9, 77, a != nullptr, a ? *a : Address{},
                    ByteView(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())};
    assert_true(joined == encoded(s));
  }
  // A peer that sends a known extension claims to speak it: malformed is an error.
  test::assert_rejected(decode_frame, bytes({0x40, 0, 0, 0, 0, 1, 2}), "2 bytes");
  test::assert_rejected(decode_frame, bytes({0x40, 0, 0, 0, 0, 2, 0, 1}), "count");
  test::assert_rejected(decode_frame, bytes({0x40, 0, 0, 0, 0, 2, 17, 1}), "count");
  test::assert_rejected(decode_frame, bytes({0x41, 0x02, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 1}),
                        "flags");
  test::assert_rejected(decode_frame, bytes({0x41, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0}),
                        "too short");
}

// Copies on two lanes: each number delivered once, in any order within the window.
static void test_sequence_window_delivers_each_number_once(void**) {
  SequenceWindow w;
  assert_true(w.first_copy(10));
  assert_false(w.first_copy(10));
  assert_true(w.first_copy(12));  // 11 is late on its lane
  assert_true(w.first_copy(11));
  assert_false(w.first_copy(11));
  assert_false(w.first_copy(12));
  assert_true(w.first_copy(10 + 64));  // 10 leaves the window: too old from now on
  assert_false(w.first_copy(10));
  assert_true(w.first_copy(13));
  assert_true(w.first_copy(10 + 1000));  // a jump clears the window
  assert_false(w.first_copy(13));
  // The counter wraps.
  SequenceWindow wrap;
  assert_true(wrap.first_copy(0xFFFFFFFF));
  assert_true(wrap.first_copy(0));
  assert_true(wrap.first_copy(1));
  assert_false(wrap.first_copy(0xFFFFFFFF));
  assert_false(wrap.first_copy(0));
  assert_true(wrap.first_copy(0xFFFFFFFE));
}

static void test_data_prefix_matches_whole_frame(void**) {
  std::string payload(1400, 'p');
  Address src = v6_loopback(9);
  for (const Address* a : std::initializer_list<const Address*>{nullptr, &src}) {
    uint8_t prefix[kMaxDataPrefix];
    size_t n = encode_data_prefix(prefix, 77, a, payload.size());
    std::vector<uint8_t> joined(prefix, prefix + n);
    test::append(joined, bytes(payload));
    Data d{77, a != nullptr, a ? *a : Address{},
           ByteView(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())};
    assert_true(joined == encoded(d));
  }
}

static void test_largest_datagram_and_one_byte_more(void**) {
  std::string big(kMaxDatagram, 'x');
  Data d{1, true, *Address::from_domain(std::string(255, 'a').substr(0, 63), 1),
         ByteView(reinterpret_cast<const uint8_t*>(big.data()), big.size())};
  auto wire = encoded(d);
  auto p = decode_frame(ByteView(wire));
  assert_true(p.ok());
  assert_int_equal(std::get<Data>(p.value).payload.size, kMaxDatagram);

  // Hand-built DATA with 65,508 payload bytes: the length is legal, the datagram is not.
  std::vector<uint8_t> over = bytes({0x02, 0x00});
  over.resize(kFrameHeaderSize);
  store_u32(over.data() + 2, 4 + kMaxDatagram + 1);
  over.resize(over.size() + 4 + kMaxDatagram + 1, 0);
  test::assert_rejected(decode_frame, over, "larger than a datagram");
}

static void test_hostile_length_is_refused_from_the_header_alone(void**) {
  for (uint32_t len : {static_cast<uint32_t>(kMaxFrameBody + 1), 0xFFFFFFFFu}) {
    std::vector<uint8_t> hdr = bytes({0x02, 0x00, 0, 0, 0, 0});
    store_u32(hdr.data() + 2, len);
    test::assert_rejected(decode_frame, hdr, "length over the maximum");
  }
}

static void test_reserved_types_and_flags_are_errors(void**) {
  test::assert_rejected(decode_frame, bytes({0x00}), "reserved frame type");
  test::assert_rejected(decode_frame, bytes({0x08}), "reserved frame type");
  test::assert_rejected(decode_frame, bytes({0x3F}), "reserved frame type");
  test::assert_rejected(decode_frame, bytes({0x04, 0x01, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0}),
                        "flags");
  test::assert_rejected(decode_frame, bytes({0x02, 0x02, 0, 0, 0, 4, 0, 0, 0, 1}), "flags");
  test::assert_rejected(decode_frame, bytes({0x04, 0x00, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0}),
                        "8 bytes");
  test::assert_rejected(decode_frame, bytes({0x03, 0x00, 0, 0, 0, 5, 0, 0, 0, 1, 9}), "reason");
  test::assert_rejected(decode_frame, bytes({0x02, 0x00, 0, 0, 0, 3, 0, 0, 0}), "too short");
}

static void test_bad_addresses_inside_frames(void**) {
  // OPEN_FLOW whose target has ATYP 0x02.
  test::assert_rejected(decode_frame,
                        bytes({0x01, 0x00, 0, 0, 0, 11, 0, 0, 0, 1, 0x02, 1, 2, 3, 4, 0, 1}),
                        "address type", 0x08);
  // OPEN_FLOW whose target address is cut by the frame's end.
  test::assert_rejected(decode_frame, bytes({0x01, 0x00, 0, 0, 0, 7, 0, 0, 0, 1, 0x01, 1, 2}),
                        "past the end");
  // OPEN_FLOW with trailing bytes.
  test::assert_rejected(decode_frame,
                        bytes({0x01, 0x00, 0, 0, 0, 12, 0, 0, 0, 1, 0x01, 1, 2, 3, 4, 0, 1, 9}),
                        "trailing");
  // DATA with an address flag but a domain with a NUL in it.
  test::assert_rejected(decode_frame,
                        bytes({0x02, 0x01, 0, 0, 0, 10, 0, 0, 0, 1, 0x03, 2, 'a', 0, 0, 1}),
                        "invalid domain");
}

struct Collect : FrameSink {
  std::vector<std::vector<uint8_t>> frames;  // re-encoded, so views need not outlive the call
  size_t stop_after = SIZE_MAX;
  bool on_frame(const Frame& f) override {
    frames.push_back(encoded(f));
    return frames.size() < stop_after;
  }
};

static std::vector<uint8_t> sample_stream(std::vector<std::vector<uint8_t>>& each) {
  std::vector<uint8_t> stream;
  const std::string payload(3000, 'q');
  for (const Frame& f : sample_frames(payload)) {
    each.push_back(encoded(f));
    test::append(stream, each.back());
  }
  return stream;
}

static void test_decoder_any_two_way_split_gives_same_frames(void**) {
  std::vector<std::vector<uint8_t>> want;
  auto stream = sample_stream(want);
  for (size_t k = 0; k <= stream.size(); ++k) {
    FrameDecoder dec;
    Collect got;
    assert_int_equal(dec.feed(ByteView(stream.data(), k), got), FrameDecoder::Status::ok);
    assert_int_equal(dec.feed(ByteView(stream.data() + k, stream.size() - k), got),
                     FrameDecoder::Status::ok);
    assert_true(got.frames == want);
    assert_int_equal(dec.buffered(), 0);
  }
}

static void test_decoder_byte_by_byte_and_odd_chunks(void**) {
  std::vector<std::vector<uint8_t>> want;
  auto stream = sample_stream(want);
  for (size_t chunk : {1u, 2u, 5u, 6u, 7u, 13u, 1000u, 4096u}) {
    FrameDecoder dec;
    Collect got;
    for (size_t i = 0; i < stream.size(); i += chunk) {
      size_t n = std::min(chunk, stream.size() - i);
      assert_int_equal(dec.feed(ByteView(stream.data() + i, n), got), FrameDecoder::Status::ok);
      assert_true(dec.buffered() <= kMaxFrameSize);
    }
    assert_true(got.frames == want);
  }
}

static void test_decoder_error_is_sticky_and_frees_memory(void**) {
  FrameDecoder dec;
  Collect got;
  auto good = encoded(Ping{1});
  auto stream = good;
  test::append(stream, bytes({0x02, 0x00, 0x7F, 0xFF, 0xFF, 0xFF}));
  assert_int_equal(dec.feed(ByteView(stream), got), FrameDecoder::Status::error);
  assert_int_equal(got.frames.size(), 1);  // frames before the garbage were delivered
  assert_non_null(strstr(dec.error(), "length"));
  assert_int_equal(dec.buffered(), 0);
  assert_int_equal(dec.feed(ByteView(good), got), FrameDecoder::Status::error);
  assert_int_equal(got.frames.size(), 1);
}

static void test_decoder_stops_when_sink_says_so(void**) {
  std::vector<std::vector<uint8_t>> want;
  auto stream = sample_stream(want);
  FrameDecoder dec;
  Collect got;
  got.stop_after = 2;
  assert_int_equal(dec.feed(ByteView(stream), got), FrameDecoder::Status::stopped);
  assert_int_equal(got.frames.size(), 2);
}

static void test_decoder_partial_frame_is_bounded(void**) {
  // A peer announcing the largest legal frame and sending it slowly costs one frame of memory.
  FrameDecoder dec;
  Collect got;
  std::vector<uint8_t> hdr = bytes({0x02, 0x00, 0, 0, 0, 0});
  store_u32(hdr.data() + 2, static_cast<uint32_t>(4 + kMaxDatagram));
  assert_int_equal(dec.feed(ByteView(hdr), got), FrameDecoder::Status::ok);
  std::vector<uint8_t> chunk(1000, 0);
  for (int i = 0; i < 60; ++i) dec.feed(ByteView(chunk), got);
  assert_true(dec.buffered() <= kMaxFrameSize);
  assert_int_equal(got.frames.size(), 0);
  std::vector<uint8_t> rest(4 + kMaxDatagram - 60000, 0);
  assert_int_equal(dec.feed(ByteView(rest), got), FrameDecoder::Status::ok);
  assert_int_equal(got.frames.size(), 1);
  assert_int_equal(dec.buffered(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_frame_round_trips),
      cmocka_unit_test(test_exact_bytes_of_data_and_ping),
      cmocka_unit_test(test_data_prefix_matches_whole_frame),
      cmocka_unit_test(test_exact_bytes_of_lanes_and_sequenced_data),
      cmocka_unit_test(test_sequence_window_delivers_each_number_once),
      cmocka_unit_test(test_largest_datagram_and_one_byte_more),
      cmocka_unit_test(test_hostile_length_is_refused_from_the_header_alone),
      cmocka_unit_test(test_reserved_types_and_flags_are_errors),
      cmocka_unit_test(test_bad_addresses_inside_frames),
      cmocka_unit_test(test_decoder_any_two_way_split_gives_same_frames),
      cmocka_unit_test(test_decoder_byte_by_byte_and_odd_chunks),
      cmocka_unit_test(test_decoder_error_is_sticky_and_frees_memory),
      cmocka_unit_test(test_decoder_stops_when_sink_says_so),
      cmocka_unit_test(test_decoder_partial_frame_is_bounded),
  };
  return cmocka_run_group_tests_name("frames", tests, nullptr, nullptr);
}
