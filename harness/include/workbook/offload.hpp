// Moving blocking and CPU-heavy work off the event loop.
//
// BlockingPool is an asio::thread_pool that virtual-time runs know about: while
// a job is on the pool, the runner waits for it in real time instead of moving
// the virtual clock past it, so results stay the same on every run.
// offload() runs a function there and resumes the caller on its own executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "workbook/detail/executor_properties.hpp"

namespace workbook {

namespace detail {
void begin_external_job() noexcept;
void end_external_job() noexcept;
}  // namespace detail

/// How many BlockingPool jobs are queued or running, process-wide.
std::size_t pending_external_jobs() noexcept;

/// An executor for a BlockingPool: counts each job while it is queued or runs.
template <typename Inner>
class CountingExecutor {
 public:
  /// Wraps `inner`.
  explicit CountingExecutor(Inner inner) noexcept : inner_(std::move(inner)) {}

  /// Submits `f` to the wrapped executor (the executor concept's one operation).
  template <typename Function>
  void execute(Function&& f) const {
    detail::begin_external_job();
    inner_.execute([f = std::forward<Function>(f)]() mutable {
      // Any completion the job posts back to the event loop is queued before
      // the count drops, so a runner that sees zero also sees that completion.
      std::move(f)();
      detail::end_external_job();
    });
  }

  /// Queries a property (context, blocking, ...) of the wrapped executor.
  template <detail::QueryableOn<Inner> Property>
  decltype(auto) query(const Property& p) const {
    return boost::asio::query(inner_, p);
  }

  /// The same wrapper around the wrapped executor with property `p` required.
  template <detail::RequirableOn<Inner> Property>
  auto require(const Property& p) const {
    using Required = std::decay_t<decltype(boost::asio::require(inner_, p))>;
    return CountingExecutor<Required>(boost::asio::require(inner_, p));
  }

  /// Equal when they wrap equal executors (and report to the same place).
  friend bool operator==(const CountingExecutor& a, const CountingExecutor& b) noexcept {
    return a.inner_ == b.inner_;
  }

 private:
  Inner inner_;
};

/// A pool of threads for work that would block the event loop.
class BlockingPool {
 public:
  /// The executor that submits work to this pool.
  using executor_type = CountingExecutor<boost::asio::thread_pool::executor_type>;

  /// Starts `threads` threads.
  explicit BlockingPool(std::size_t threads = 2) : pool_(threads) {}

  /// Submit work here (co_spawn, post, offload).
  executor_type get_executor() noexcept { return executor_type(pool_.get_executor()); }

  /// Waits for queued work to finish and stops the threads.
  void join() { pool_.join(); }

 private:
  boost::asio::thread_pool pool_;
};

namespace detail {
template <typename Work>
boost::asio::awaitable<std::invoke_result_t<Work&>> invoke(Work work) {
  co_return work();
}
}  // namespace detail

/// Runs `work()` on `pool` and resumes the calling coroutine on its own
/// executor with the result (or the exception `work` threw). `work` is moved
/// into the pool job, so it must own everything it uses.
template <typename Executor, typename Work>
boost::asio::awaitable<std::invoke_result_t<Work&>> offload(Executor pool, Work work) {
  // co_spawn starts detail::invoke on the pool; use_awaitable delivers its
  // result through the caller's executor, which puts the caller back on its
  // own thread.
  return boost::asio::co_spawn(std::move(pool), detail::invoke(std::move(work)),
                               boost::asio::use_awaitable);
}

}  // namespace workbook
