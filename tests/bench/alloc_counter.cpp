// alloc-counter: an LD_PRELOAD library that counts a process's heap allocations, for the
// allocation check of scripts/bench (docs/performance.md, "Allocations"): zero heap
// allocations per relayed frame is a target, and this is how it is measured.
//
// Contract:
// - Every malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign, valloc and pvalloc
//   of the process counts once (operator new and the C library's own users all come through
//   malloc); `live_bytes` follows malloc_usable_size of what is allocated minus what is freed.
// - SIGUSR2 writes one line "allocations N frees N live_bytes N\n" to the file named by
//   $SQUIB_ALLOC_COUNTER_OUT (appending; async-signal-safe: open/write/close and atomics only).
//   squib-netd does not use SIGUSR2. Without that variable the library only counts.
// - The real allocator is found with dlsym(RTLD_NEXT); while dlsym itself allocates (it may
//   calloc), requests come from a small static arena that is never freed to libc.

#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

using MallocFn = void* (*)(std::size_t);
using CallocFn = void* (*)(std::size_t, std::size_t);
using ReallocFn = void* (*)(void*, std::size_t);
using FreeFn = void (*)(void*);
using PosixMemalignFn = int (*)(void**, std::size_t, std::size_t);
using AlignedAllocFn = void* (*)(std::size_t, std::size_t);

MallocFn real_malloc;
CallocFn real_calloc;
ReallocFn real_realloc;
FreeFn real_free;
PosixMemalignFn real_posix_memalign;
AlignedAllocFn real_aligned_alloc;
AlignedAllocFn real_memalign;

std::atomic<std::uint64_t> g_allocations{0};
std::atomic<std::uint64_t> g_frees{0};
std::atomic<std::int64_t> g_live_bytes{0};
char g_out_path[512];

// The bootstrap arena: what dlsym allocates before the real functions are known.
alignas(std::max_align_t) unsigned char g_arena[16384];
std::size_t g_arena_used = 0;
bool g_resolving = false;

bool in_arena(const void* p) { return p >= g_arena && p < g_arena + sizeof g_arena; }

void* arena_alloc(std::size_t size) {
  const std::size_t aligned = (size + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);
  if (g_arena_used + aligned > sizeof g_arena) return nullptr;
  void* p = g_arena + g_arena_used;
  g_arena_used += aligned;
  return p;
}

template <class Fn>
Fn next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

void resolve() {
  if (real_malloc != nullptr || g_resolving) return;
  g_resolving = true;
  real_calloc = next<CallocFn>("calloc");
  real_realloc = next<ReallocFn>("realloc");
  real_free = next<FreeFn>("free");
  real_posix_memalign = next<PosixMemalignFn>("posix_memalign");
  real_aligned_alloc = next<AlignedAllocFn>("aligned_alloc");
  real_memalign = next<AlignedAllocFn>("memalign");
  real_malloc = next<MallocFn>("malloc");
  g_resolving = false;
}

void* counted(void* p) {
  if (p != nullptr) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    g_live_bytes.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  }
  return p;
}

void append_decimal(char*& out, std::uint64_t value) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) *out++ = digits[--n];
}

void report(int) {
  if (g_out_path[0] == '\0') return;
  const int saved_errno = errno;
  char line[128];
  char* out = line;
  const auto text = [&](const char* s) {
    while (*s != '\0') *out++ = *s++;
  };
  text("allocations ");
  append_decimal(out, g_allocations.load(std::memory_order_relaxed));
  text(" frees ");
  append_decimal(out, g_frees.load(std::memory_order_relaxed));
  text(" live_bytes ");
  const std::int64_t live = g_live_bytes.load(std::memory_order_relaxed);
  append_decimal(out, live < 0 ? 0 : static_cast<std::uint64_t>(live));
  *out++ = '\n';
  const int fd = ::open(g_out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd >= 0) {
    [[maybe_unused]] const auto written = ::write(fd, line, static_cast<std::size_t>(out - line));
    ::close(fd);
  }
  errno = saved_errno;
}

[[gnu::constructor]] void install() {
  resolve();
  const char* path = std::getenv("SQUIB_ALLOC_COUNTER_OUT");
  if (path == nullptr || std::strlen(path) >= sizeof g_out_path) return;
  std::strcpy(g_out_path, path);
  struct sigaction action {};
  action.sa_handler = report;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGUSR2, &action, nullptr);
}

}  // namespace

extern "C" {

void* malloc(std::size_t size) {
  resolve();
  if (real_malloc == nullptr) return arena_alloc(size);
  return counted(real_malloc(size));
}

void* calloc(std::size_t count, std::size_t size) {
  resolve();
  if (real_calloc == nullptr) return arena_alloc(count * size);  // the arena is zeroed static memory
  return counted(real_calloc(count, size));
}

void* realloc(void* p, std::size_t size) {
  resolve();
  if (in_arena(p)) {  // never handed to libc: copy out of the arena
    void* moved = malloc(size);
    if (moved != nullptr) std::memcpy(moved, p, size);
    return moved;
  }
  if (p != nullptr) {
    g_frees.fetch_add(1, std::memory_order_relaxed);
    g_live_bytes.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  }
  return counted(real_realloc(p, size));
}

void free(void* p) {
  if (p == nullptr || in_arena(p)) return;
  resolve();
  g_frees.fetch_add(1, std::memory_order_relaxed);
  g_live_bytes.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  real_free(p);
}

int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  resolve();
  const int rc = real_posix_memalign(out, alignment, size);
  if (rc == 0) counted(*out);
  return rc;
}

void* aligned_alloc(std::size_t alignment, std::size_t size) {
  resolve();
  return counted(real_aligned_alloc(alignment, size));
}

void* memalign(std::size_t alignment, std::size_t size) {
  resolve();
  return counted(real_memalign(alignment, size));
}

void* valloc(std::size_t size) { return memalign(static_cast<std::size_t>(sysconf(_SC_PAGESIZE)), size); }

void* pvalloc(std::size_t size) {
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return memalign(page, (size + page - 1) & ~(page - 1));
}

}  // extern "C"
