#pragma once

// uv::Handle<T>: owns one libuv handle on the heap. libuv's contract (docs/src/handle.rst):
// uv_close() is asynchronous and the memory may be freed only in the close callback. So the
// destructor never frees a live handle; it calls uv_close() and the callback deletes it.
// A handle that was never initialised (type still UV_UNKNOWN_HANDLE) is deleted at once.
// After close() no callback of the handle runs again (libuv guarantees this), so owners may
// be destroyed right after closing their handles.

#include <uv.h>

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
  void close() {
    T* handle = std::exchange(m_handle, nullptr);
    if (handle == nullptr) return;
    auto* base_handle = reinterpret_cast<uv_handle_t*>(handle);
    if (base_handle->type == UV_UNKNOWN_HANDLE) {
      delete handle;
    } else if (uv_is_closing(base_handle) == 0) {
      base_handle->data = nullptr;
      uv_close(base_handle, [](uv_handle_t* h) { delete reinterpret_cast<T*>(h); });
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
