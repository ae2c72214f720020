// Byte views and big-endian readers/writers shared by every codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace udptun::protocol {

// A non-owning view of bytes (C++17 has no std::span). Valid as long as what it points at.
struct ByteView {
  const uint8_t* data = nullptr;
  size_t size = 0;

  constexpr ByteView() = default;
  constexpr ByteView(const uint8_t* d, size_t n) : data(n ? d : nullptr), size(n) {}
  ByteView(const std::vector<uint8_t>& v)
      : ByteView(v.data(), v.size()) {}  // NOLINT: implicit by design

  bool empty() const { return size == 0; }
  uint8_t operator[](size_t i) const { return data[i]; }
  ByteView first(size_t n) const { return {data, n < size ? n : size}; }
  ByteView after(size_t n) const { return n >= size ? ByteView{} : ByteView{data + n, size - n}; }
  std::string_view as_chars() const { return {reinterpret_cast<const char*>(data), size}; }
};

inline bool operator==(ByteView a, ByteView b) {
  return a.size == b.size && (a.size == 0 || std::memcmp(a.data, b.data, a.size) == 0);
}

inline uint16_t load_u16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t load_u32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
inline uint64_t load_u64(const uint8_t* p) {
  return uint64_t{load_u32(p)} << 32 | load_u32(p + 4);
}
inline void store_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store_u32(uint8_t* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
inline void store_u64(uint8_t* p, uint64_t v) {
  store_u32(p, static_cast<uint32_t>(v >> 32));
  store_u32(p + 4, static_cast<uint32_t>(v));
}

// Appends big-endian values to a growable buffer (control-path encoders).
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) {
    uint8_t b[2];
    store_u16(b, v);
    bytes(b, 2);
  }
  void u32(uint32_t v) {
    uint8_t b[4];
    store_u32(b, v);
    bytes(b, 4);
  }
  void u64(uint64_t v) {
    uint8_t b[8];
    store_u64(b, v);
    bytes(b, 8);
  }
  void bytes(const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  void bytes(ByteView v) { bytes(v.data, v.size); }
  size_t size() const { return out_.size(); }

 private:
  std::vector<uint8_t>& out_;
};

// Reads big-endian values from a view; every read is bounds-checked and a failed read
// leaves the position unchanged, so parsers can report "need more" without arithmetic.
class ByteReader {
 public:
  explicit ByteReader(ByteView in) : in_(in) {}
  size_t position() const { return pos_; }
  size_t remaining() const { return in_.size - pos_; }
  bool u8(uint8_t& v) {
    if (remaining() < 1) return false;
    v = in_.data[pos_++];
    return true;
  }
  bool u16(uint16_t& v) {
    if (remaining() < 2) return false;
    v = load_u16(in_.data + pos_);
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t& v) {
    if (remaining() < 4) return false;
    v = load_u32(in_.data + pos_);
    pos_ += 4;
    return true;
  }
  bool u64(uint64_t& v) {
    if (remaining() < 8) return false;
    v = load_u64(in_.data + pos_);
    pos_ += 8;
    return true;
  }
  bool bytes(void* out, size_t n) {
    if (remaining() < n) return false;
    if (n) std::memcpy(out, in_.data + pos_, n);
    pos_ += n;
    return true;
  }
  bool view(ByteView& out, size_t n) {
    if (remaining() < n) return false;
    out = ByteView{in_.data + pos_, n};
    pos_ += n;
    return true;
  }
  ByteView rest() const { return in_.after(pos_); }

 private:
  ByteView in_;
  size_t pos_ = 0;
};

}  // namespace udptun::protocol
