// The process-wide count of work outside the event loop (ExternalWork), read
// by the virtual-time runner; and offload()'s co_spawn, compiled here once.
#include "workbook/offload.hpp"

#include <atomic>

namespace workbook {
namespace {
std::atomic<std::size_t> external_work{0};
}

ExternalWork::ExternalWork() noexcept { external_work.fetch_add(1, std::memory_order_acq_rel); }

ExternalWork::~ExternalWork() {
  if (counted_) external_work.fetch_sub(1, std::memory_order_acq_rel);
}

std::size_t pending_external_work() noexcept {
  return external_work.load(std::memory_order_acquire);
}

namespace detail {

boost::asio::awaitable<void> offload_job(BlockingPool::executor_type pool,
                                         std::shared_ptr<OffloadJob> job) {
  // The same path as the generic offload(): co_spawn starts the job's
  // coroutine on the pool, use_awaitable resumes this one on its own executor.
  // (The job's coroutine is a named local: with the lambda a temporary of the
  // co_await expression, GCC 12's build freed the job twice, "double free".)
  auto run = call_as_coroutine([job = std::move(job)] { job->run(); });
  co_await boost::asio::co_spawn(pool, std::move(run), boost::asio::use_awaitable);
}

}  // namespace detail

}  // namespace workbook
