#pragma once

// uv::Handle<T>: owns one libuv handle on the heap. libuv's contract (docs/src/handle.rst):
// uv_close() is asynchronous and the memory may be freed only in the close callback. So the
// destructor never frees a live handle; it calls uv_close() and the callback deletes it.
// A handle that was never initialised (type still UV_UNKNOWN_HANDLE) is deleted at once.
// After close() no callback of the handle runs again (libuv guarantees this), so owners may
// be destroyed right after closing their handles.
//
// close(closed) also tells when libuv is done with the handle: `closed` runs from the close
// callback, after the memory is freed (at once, from close(), for a handle never
// initialised). It must not throw (it runs inside a libuv callback, style §5). It is what an
// owner needs to report "every handle closed" (Backend::stop's `done`) without a hand-rolled
// struct of handles and counters.

#include <uv.h>

#include <functional>
#include <memory>
#include <utility>

namespace squib::uv {

template <typename T>
class Handle {
public:
  Handle() : m_handle(new T{}) {}
  ~Handle() { close(); }
  Handle(Handle&& other) noexcept : m_handle(std::exchange(other.m_handle, nullptr)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      close();
      m_handle = std::exchange(other.m_handle, nullptr);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  T* get() const { return m_handle; }
  uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(m_handle); }
  T* operator->() const { return m_handle; }
  explicit operator bool() const { return m_handle != nullptr; }

  // Closes (asynchronously) and forgets the handle. Safe to call more than once.
  void close() { close(nullptr); }

  // As close(); `closed` (if set) runs once the handle is freed — see the header comment.
  // With no handle left to close (already closed or moved from), `closed` runs at once.
  void close(std::function<void()> closed) {
    T* handle = std::exchange(m_handle, nullptr);
    auto* base_handle = reinterpret_cast<uv_handle_t*>(handle);
    if (handle == nullptr || base_handle->type == UV_UNKNOWN_HANDLE) {
      delete handle;
      if (closed) closed();
    } else if (uv_is_closing(base_handle) == 0) {
      // handle->data now carries the notification (null without one): the owner's pointer
      // is gone, and no callback of the handle can run to look for it (libuv handle.rst).
      base_handle->data = closed ? new std::function<void()>(std::move(closed)) : nullptr;
      uv_close(base_handle, [](uv_handle_t* h) {
        std::unique_ptr<std::function<void()>> notify(static_cast<std::function<void()>*>(h->data));
        delete reinterpret_cast<T*>(h);
        if (notify) (*notify)();
      });
    }
  }

private:
  T* m_handle;
};

// The owner stored in handle->data, cast back in callbacks.
template <typename Owner, typename T>
Owner* owner_of(T* handle) {
  return static_cast<Owner*>(reinterpret_cast<uv_handle_t*>(handle)->data);
}

}  // namespace squib::uv
