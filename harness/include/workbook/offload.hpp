// Moving blocking and CPU-heavy work off the event loop.
//
// BlockingPool is an asio::thread_pool that virtual-time runs know about: while
// a job is on the pool, the runner waits for it in real time instead of moving
// the virtual clock past it, so results stay the same on every run.
// offload() runs a function there and resumes the caller on its own executor.
//
// The same counting is open to any work outside the event loop whose
// completion the loop awaits (a socket read of a real database backend):
// hold an ExternalWork for as long as it is outstanding.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "workbook/detail/executor_properties.hpp"

namespace workbook {

/// Counts, for as long as it lives, as one piece of work outside the event
/// loop whose completion the loop will receive. In virtual time the runner
/// does not move the clock while any is outstanding: it waits in real time.
/// Release it only after the completion has been posted to the loop.
/// The count is process-wide (the virtual clock is too).
class ExternalWork {
 public:
  /// Counts one piece of work.
  ExternalWork() noexcept;
  /// Stops counting it (unless moved from).
  ~ExternalWork();
  /// Takes over the count of `other`, which then counts nothing.
  ExternalWork(ExternalWork&& other) noexcept : counted_(std::exchange(other.counted_, false)) {}
  ExternalWork& operator=(ExternalWork&&) = delete;
  ExternalWork(const ExternalWork&) = delete;
  ExternalWork& operator=(const ExternalWork&) = delete;

 private:
  bool counted_ = true;
};

/// How many ExternalWork objects (BlockingPool jobs among them) are alive,
/// process-wide.
std::size_t pending_external_work() noexcept;

/// The executor of a BlockingPool: submits to the wrapped executor and counts
/// each job as ExternalWork from submission until the job is done with (run,
/// or dropped unrun by a pool that was destroyed first).
template <typename Inner>
class BlockingPoolExecutor {
 public:
  /// Wraps `inner`.
  explicit BlockingPoolExecutor(Inner inner) noexcept : inner_(std::move(inner)) {}

  /// Submits `f` to the wrapped executor (the executor concept's one operation).
  template <typename Function>
  void execute(Function&& f) const {
    // The count drops when the job object is destroyed, after it ran: any
    // completion the job posted back to the event loop is queued by then, so a
    // runner that sees zero also sees that completion.
    inner_.execute(
        [counted = ExternalWork(), f = std::forward<Function>(f)]() mutable { std::move(f)(); });
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
    return BlockingPoolExecutor<Required>(boost::asio::require(inner_, p));
  }

  /// Equal when they wrap equal executors.
  friend bool operator==(const BlockingPoolExecutor& a, const BlockingPoolExecutor& b) noexcept {
    return a.inner_ == b.inner_;
  }

 private:
  Inner inner_;
};

/// A pool of threads for work that would block the event loop.
class BlockingPool {
 public:
  /// The executor that submits work to this pool.
  using executor_type = BlockingPoolExecutor<boost::asio::thread_pool::executor_type>;

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
/// `work()` as a coroutine, so that co_spawn can start it on a pool.
template <typename Work>
boost::asio::awaitable<std::invoke_result_t<Work&>> call_as_coroutine(Work work) {
  co_return work();
}

/// A job for a BlockingPool with its type erased: what offload() runs there.
class OffloadJob {
 public:
  virtual ~OffloadJob() = default;
  /// Runs the job (on a pool thread), keeping its result.
  virtual void run() = 0;
};

/// Runs `job->run()` on `pool` by co_spawn, and resumes the caller on its own
/// executor (rethrowing what run() threw). Compiled once, in the harness:
/// offload() on a BlockingPool keeps co_spawn's templates out of the code
/// that calls it (chapter 01's fix: 0.6 s of compile CPU instead of 1.5 s).
boost::asio::awaitable<void> offload_job(BlockingPool::executor_type pool,
                                         std::shared_ptr<OffloadJob> job);

/// `work` and, once it has run, its result.
template <typename Work, typename Result = std::invoke_result_t<Work&>>
class OffloadJobOf final : public OffloadJob {
 public:
  explicit OffloadJobOf(Work work) : work_(std::move(work)) {}
  void run() override {
    if constexpr (std::is_void_v<Result>) {
      work_();
    } else {
      result_.emplace(work_());
    }
  }
  /// The result, moved out (after run()).
  Result take() {
    if constexpr (!std::is_void_v<Result>) return std::move(*result_);
  }

 private:
  Work work_;
  struct NoResult {};
  [[no_unique_address]] std::conditional_t<std::is_void_v<Result>, NoResult, std::optional<Result>>
      result_;
};
}  // namespace detail

/// Runs `work()` on `pool` and resumes the calling coroutine on its own
/// executor with the result (or the exception `work` threw). `work` is moved
/// into the pool job, so it must own everything it uses.
template <typename Executor, typename Work>
boost::asio::awaitable<std::invoke_result_t<Work&>> offload(Executor pool, Work work) {
  // co_spawn starts the coroutine on the pool; use_awaitable delivers its
  // result through the caller's executor, which puts the caller back on its
  // own thread.
  return boost::asio::co_spawn(std::move(pool), detail::call_as_coroutine(std::move(work)),
                               boost::asio::use_awaitable);
}

/// The same on a BlockingPool's executor (the common case), for any result
/// but a reference: `work` is moved into a job the pool shares with the
/// caller, and the co_spawn behind it is compiled once, in the harness.
template <typename Work>
requires(!std::is_reference_v<std::invoke_result_t<Work&>>)
    boost::asio::awaitable<std::invoke_result_t<Work&>> offload(BlockingPool::executor_type pool,
                                                                Work work) {
  auto job = std::make_shared<detail::OffloadJobOf<Work>>(std::move(work));
  // Named, not a temporary of the co_await (see offload_job).
  auto running = detail::offload_job(std::move(pool), job);
  co_await std::move(running);
  co_return job->take();
}

}  // namespace workbook
