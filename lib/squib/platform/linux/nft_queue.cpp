#include <squib/platform/linux/nft_queue.hpp>

#include <squib/platform/linux/nft.hpp>

namespace squib::platform {

void NftQueue::run(std::string script, Done done) {
  m_jobs.push_back(Job{std::move(script), std::move(done)});
  next();
}

void NftQueue::next() {
  if (m_running || m_jobs.empty()) return;
  m_running = true;
  Job job = std::move(m_jobs.front());
  m_jobs.pop_front();
  run_nft_async(
      m_loop, {"-f", "-"}, std::move(job.script),
      [alive = std::weak_ptr<NftQueue*>(m_alive), done = std::move(job.done)](core::Result<std::string> result) {
        const auto self = alive.lock();
        if (!self || *self == nullptr) return;
        NftQueue* queue = *self;
        queue->m_running = false;
        done(std::move(result));
        if (*self == nullptr) return;  // `done` destroyed the queue's owner
        queue->next();
      });
}

}  // namespace squib::platform
