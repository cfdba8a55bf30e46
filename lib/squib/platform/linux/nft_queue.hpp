#pragma once

// NftQueue: runs `nft -f -` scripts one at a time, in the order they were queued, each as a
// child collected on the loop (run_nft_async, nft.hpp). One queue serves every network of
// the daemon, so a table's delete can never overtake its create, whatever the kernel's or
// the children's timing.
//
// `done` of each job runs on the loop once its nft has exited, before the next job starts;
// idle() is already true inside the last job's `done`, which may destroy the queue. Destroying the queue abandons the
// jobs: the child in flight is still collected by the loop, but no `done` runs afterwards (the owner may be gone by
// then).

#include <deque>
#include <functional>
#include <memory>
#include <string>

#include <uv.h>

#include <squib/core/result.hpp>

namespace squib::platform {

class NftQueue {
 public:
  using Done = std::function<void(core::Result<std::string> nft_stdout)>;

  explicit NftQueue(uv_loop_t* loop) : m_loop(loop) {}
  ~NftQueue() { *m_alive = nullptr; }
  NftQueue(const NftQueue&) = delete;
  NftQueue& operator=(const NftQueue&) = delete;

  void run(std::string script, Done done);
  // No job running and none waiting.
  [[nodiscard]] bool idle() const { return !m_running && m_jobs.empty(); }

 private:
  struct Job {
    std::string script;
    Done done;
  };
  void next();

  uv_loop_t* m_loop;
  std::deque<Job> m_jobs;
  bool m_running = false;
  // Callbacks of nft children check this before touching the queue.
  std::shared_ptr<NftQueue*> m_alive = std::make_shared<NftQueue*>(this);
};

}  // namespace squib::platform
