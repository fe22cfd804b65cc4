// The worker pool. Every sqlite3 call of the backend happens in worker_main(),
// on a thread of this pool; callers only queue jobs and are told the outcome
// by a post to their own executor.
#include "pool.hpp"

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include "errors.hpp"

namespace sqlitedb::detail {
namespace {

std::exception_ptr aborted() {
  return std::make_exception_ptr(
      boost::system::system_error(boost::asio::error::operation_aborted));
}

}  // namespace

Core::Core(Options options)
    : options(std::move(options)),
      pinned_queues_(std::max<std::size_t>(this->options.threads, 1)),
      running_(pinned_queues_.size()) {}

std::deque<std::shared_ptr<Job>>& Core::queue_of(const Job& job) {
  return job.connection ? pinned_queues_[job.connection->worker] : shared_queue_;
}

void Core::submit(const std::shared_ptr<Job>& job) {
  // Decided under the lock: once the job is queued, a worker may take it and write its
  // outcome at once, so job->error must not be read after the lock is released.
  bool refused = false;
  {
    std::lock_guard lock(mutex_);
    ConnectionState* c = job->connection.get();
    if (stopping_) {
      job->error = client_error(mockdb::Errc::connection_closed, "the database was destroyed");
    } else if (job->opens_connection || c == nullptr) {
      // A new Connection, or a direct operation's borrowed place.
      if (open_ >= options.max_connections) {
        job->error = client_error(mockdb::Errc::too_many_connections,
                                  "all " + std::to_string(options.max_connections) +
                                      " connections (max_connections) are in use");
      } else {
        ++open_;
        job->holds_place = c == nullptr;
      }
    } else if (c->closed || c->broken) {
      job->error = client_error(mockdb::Errc::connection_closed, "");
    } else if (c->busy) {
      job->error = client_error(mockdb::Errc::operation_in_progress, "");
    } else {
      c->busy = true;
    }
    refused = static_cast<bool>(job->error);
    if (!refused) {
      job->accepted = true;
      queue_of(*job).push_back(job);
    } else {
      job->state = Job::State::done;
      if (job->opens_connection) c->closed = true;  // it never held a place
    }
  }
  if (refused) {
    job->complete();
  } else {
    // One condition variable for all queues: a pinned job must wake its own
    // worker, so wake them all (there are only a few).
    wake_.notify_all();
  }
}

void Core::cancel(const std::shared_ptr<Job>& job) {
  {
    std::lock_guard lock(mutex_);
    if (job->state == Job::State::running) {
      // The worker will notice (progress or busy handler), roll back and
      // complete the job itself, once SQLite has let go.
      job->cancel.request();
      return;
    }
    if (job->state != Job::State::queued) return;  // its outcome is on its way
    auto& queue = queue_of(*job);
    queue.erase(std::find(queue.begin(), queue.end(), job));
    job->cancel.request();
    job->error = aborted();
    end_locked(*job);
  }
  // Never ran: nothing to undo.
  job->complete();
}

void Core::close(ConnectionState& connection) {
  std::lock_guard lock(mutex_);
  if (connection.closed) return;
  connection.closed = true;
  --open_;
}

std::shared_ptr<Job> Core::next(std::size_t index) {
  std::unique_lock lock(mutex_);
  auto& pinned = pinned_queues_[index];
  wake_.wait(lock, [&] { return stopping_ || !pinned.empty() || !shared_queue_.empty(); });
  if (stopping_) return nullptr;
  auto& queue = pinned.empty() ? shared_queue_ : pinned;
  std::shared_ptr<Job> job = std::move(queue.front());
  queue.pop_front();
  job->state = Job::State::running;
  running_[index] = job;
  return job;
}

void Core::finished(Job& job) {
  std::lock_guard lock(mutex_);
  for (auto& running : running_) {
    if (running.get() == &job) running.reset();
  }
  end_locked(job);
}

// A job has ended, however it ended; its outcome is on its way to the caller.
void Core::end_locked(Job& job) { job.state = Job::State::done; }

void Core::release(Job& job) {
  std::lock_guard lock(mutex_);
  if (!job.accepted) return;  // refused by submit(): it never took anything
  job.accepted = false;
  if (job.holds_place) --open_;
  ConnectionState* c = job.connection.get();
  if (c == nullptr) return;
  if (job.opens_connection) {
    if (job.error && !c->closed) {  // the Connection was never made: free its place
      c->closed = true;
      --open_;
    }
    return;
  }
  c->busy = false;
  // Cancelled mid-operation, or the connection itself failed: nobody knows
  // where the conversation stands, so the Connection is broken for good.
  const bool cancelled = job.cancel.requested() && job.error;
  bool failed = false;
  if (job.error) {
    try {
      std::rethrow_exception(job.error);
    } catch (const boost::system::system_error& e) {
      failed = e.code() == mockdb::ErrorClass::connection_failure;
    } catch (...) {
    }
  }
  if (cancelled || failed) c->broken = true;
}

void Core::stop() {
  std::vector<std::shared_ptr<Job>> abandoned;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto* queue : {&shared_queue_}) {
      abandoned.insert(abandoned.end(), queue->begin(), queue->end());
      queue->clear();
    }
    for (auto& queue : pinned_queues_) {
      abandoned.insert(abandoned.end(), queue.begin(), queue.end());
      queue.clear();
    }
    for (const auto& job : abandoned) {
      job->error = aborted();
      end_locked(*job);
    }
    for (const auto& job : running_) {
      if (job) job->cancel.request();
    }
  }
  wake_.notify_all();
  for (const auto& job : abandoned) job->complete();
}

std::size_t Core::pick_worker() {
  std::lock_guard lock(mutex_);
  return next_worker_++ % pinned_queues_.size();
}

Stats Core::stats() const {
  std::lock_guard lock(mutex_);
  Stats s;
  s.queued = shared_queue_.size();
  for (const auto& queue : pinned_queues_) s.queued += queue.size();
  s.running = static_cast<std::size_t>(
      std::count_if(running_.begin(), running_.end(), [](const auto& j) { return j != nullptr; }));
  s.open_connections = open_;
  return s;
}

void worker_main(const std::shared_ptr<Core>& core, std::size_t index) {
  // The connection is created, used and closed on this thread only.
  Session session(core->options, core->open_mutex);
  while (std::shared_ptr<Job> job = core->next(index)) {
    try {
      session.start_job(job->cancel);
      job->run(session);
    } catch (const boost::system::system_error& e) {
      job->error = std::current_exception();
      if (e.code() == mockdb::ErrorClass::connection_failure) session.discard();
    } catch (...) {
      job->error = std::current_exception();
    }
    session.end_job();
    // Whatever stopped a cancelled job (SQLITE_INTERRUPT, SQLITE_BUSY from the
    // busy handler, or the check before COMMIT), the caller asked for it.
    if (job->error && job->cancel.requested()) job->error = aborted();
    core->finished(*job);
    job->complete();
  }
}

}  // namespace sqlitedb::detail
