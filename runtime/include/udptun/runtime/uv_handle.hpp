// The one owner of a libuv handle. The handle lives on the heap because libuv needs it until
// its close callback, which may run after the owner is gone: closing hands the memory to
// that callback. Clearing `data` first guarantees no further callback reaches the owner.
#pragma once

#include <uv.h>

#include <memory>
#include <type_traits>
#include <utility>

namespace udptun::runtime {

template <class T>
class UvHandle {
 public:
  UvHandle() = default;
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  UvHandle(UvHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)), live_(o.live_) {}
  UvHandle& operator=(UvHandle&& o) noexcept {
    if (this != &o) {
      close();
      h_ = std::exchange(o.h_, nullptr);
      live_ = o.live_;
    }
    return *this;
  }
  ~UvHandle() { close(); }

  // Allocates the handle and runs `init` (e.g. uv_udp_init) on it; `owner` becomes its data.
  // Returns init's result; on failure nothing is held.
  //
  // Some inits register the handle with the loop before they can fail (uv_spawn: the
  // uv_process_t is in the loop's handle queue even when fork/exec failed, and libuv wants
  // uv_close on it all the same). Freeing it there would leave the loop a dangling pointer,
  // so a failed init of such a handle is closed like a live one: the memory goes to the close
  // callback.
  template <class Init>
  int init(void* owner, Init&& init) {
    close();
    auto fresh = std::make_unique<T>();
    int rc = init(fresh.get());
    if (rc != 0) {
      if (registered_even_on_failure()) {
        h_ = fresh.release();
        h_->data = nullptr;
        live_ = true;
        close();
      }
      return rc;
    }
    h_ = fresh.release();
    h_->data = owner;
    live_ = true;
    return 0;
  }

  T* get() const { return h_; }
  T* operator->() const { return h_; }
  explicit operator bool() const { return h_ != nullptr; }
  uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(h_); }
  uv_stream_t* stream() const { return reinterpret_cast<uv_stream_t*>(h_); }

  void close() {
    if (!h_) return;
    h_->data = nullptr;
    if (live_ && !uv_is_closing(base())) {
      uv_close(base(), [](uv_handle_t* h) { std::unique_ptr<T>(reinterpret_cast<T*>(h)); });
    } else {
      std::unique_ptr<T> drop(h_);
    }
    h_ = nullptr;
    live_ = false;
  }

 private:
  static constexpr bool registered_even_on_failure() { return std::is_same_v<T, uv_process_t>; }

  T* h_ = nullptr;
  bool live_ = false;
};

// The owner registered with UvHandle::init, from inside a libuv callback.
template <class Owner, class H>
Owner* owner_of(H* handle) {
  return static_cast<Owner*>(handle->data);
}

}  // namespace udptun::runtime
