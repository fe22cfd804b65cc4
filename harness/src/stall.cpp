// Handler timing for the stall detector (see stall.hpp).
#include "workbook/stall.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace workbook {

namespace detail {

struct StallState {
  explicit StallState(std::chrono::nanoseconds b) : budget(b) {}
  const std::chrono::nanoseconds budget;
  mutable std::mutex mutex;
  StallDetector::Stall longest;
  std::size_t handlers = 0;
  std::size_t over_budget = 0;
  // The handlers running now, one per loop thread, for the watchdog's report.
  struct Running {
    std::thread::id thread;
    int thread_id;  // the Linux id, to look the thread up in /proc
    const std::string* label;
    std::chrono::steady_clock::time_point since;
  };
  std::vector<Running> running;
  // Set when a thread could not read its scheduler statistics: its figures
  // then include time spent preempted, and the report says so.
  bool preemption_counted = false;
};

namespace {
// Handlers may run other handlers inline (dispatch); only the outermost run
// holds the thread from the loop's point of view.
thread_local int depth = 0;

// How long this thread has waited, runnable, for a CPU (Linux schedstat).
// A handler preempted by the scheduler is not holding the loop by its own
// doing; on a busy 2-core machine such waits reach several milliseconds, so
// they are subtracted. A handler that sleeps or blocks in I/O is not
// runnable, so that time still counts, as it should.
std::optional<std::chrono::nanoseconds> runqueue_wait() noexcept {
  struct File {
    int fd = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    ~File() {
      if (fd >= 0) ::close(fd);
    }
  };
  thread_local File file;
  if (file.fd < 0) return std::nullopt;
  char text[128];
  const ssize_t n = ::pread(file.fd, text, sizeof text - 1, 0);
  if (n <= 0) return std::nullopt;
  text[n] = '\0';
  // "<ns on cpu> <ns waiting on a runqueue> <timeslices>"
  char* rest = nullptr;
  std::strtoull(text, &rest, 10);
  return std::chrono::nanoseconds(std::strtoull(rest, nullptr, 10));
}

// This thread's Linux id (one system call per thread).
int this_thread_id() noexcept {
  thread_local const int id = static_cast<int>(::syscall(SYS_gettid));
  return id;
}
}  // namespace

HandlerScope::HandlerScope(StallState* state, const std::string* label) noexcept
    : state_(state), label_(label), outermost_(depth++ == 0) {
  if (!outermost_) return;
  start_ = std::chrono::steady_clock::now();
  waited_ = runqueue_wait();
  std::lock_guard lock(state_->mutex);
  state_->running.push_back({std::this_thread::get_id(), this_thread_id(), label_, start_});
}

HandlerScope::~HandlerScope() {
  --depth;
  if (!outermost_) return;
  const auto now = std::chrono::steady_clock::now();
  const auto waited = runqueue_wait();
  const bool known = waited && waited_;
  const auto took = now - start_ - (known ? *waited - *waited_ : std::chrono::nanoseconds{});
  std::lock_guard lock(state_->mutex);
  std::erase_if(state_->running, [](const StallState::Running& r) {
    return r.thread == std::this_thread::get_id();
  });
  if (!known) state_->preemption_counted = true;
  ++state_->handlers;
  if (took > state_->budget) ++state_->over_budget;
  if (took > state_->longest.duration) state_->longest = {*label_, took};
}

}  // namespace detail

namespace {
double ms(std::chrono::nanoseconds d) {
  return std::chrono::duration<double, std::milli>(d).count();
}
}  // namespace

StallDetector::StallDetector(std::chrono::nanoseconds budget)
    : state_(std::make_shared<detail::StallState>(budget)) {}

StallDetector::Stall StallDetector::longest() const {
  std::lock_guard lock(state_->mutex);
  return state_->longest;
}

std::size_t StallDetector::handlers() const {
  std::lock_guard lock(state_->mutex);
  return state_->handlers;
}

std::size_t StallDetector::over_budget() const {
  std::lock_guard lock(state_->mutex);
  return state_->over_budget;
}

std::chrono::nanoseconds StallDetector::budget() const noexcept { return state_->budget; }

bool StallDetector::stalled() const { return over_budget() > 0; }

std::string StallDetector::report() const {
  std::lock_guard lock(state_->mutex);
  char text[768];
  if (state_->over_budget > 0) {
    std::snprintf(text, sizeof text,
                  "event loop stalled for %.0f ms in handler '%s' (budget %.0f ms); %zu of %zu "
                  "handler runs exceeded the budget",
                  ms(state_->longest.duration), state_->longest.label.c_str(), ms(state_->budget),
                  state_->over_budget, state_->handlers);
  } else {
    std::snprintf(text, sizeof text,
                  "longest handler run %.2f ms in '%s' (budget %.0f ms); %zu handler runs",
                  ms(state_->longest.duration),
                  state_->longest.label.empty() ? "-" : state_->longest.label.c_str(),
                  ms(state_->budget), state_->handlers);
  }
  std::string out = text;
  if (state_->preemption_counted) {
    out +=
        " (time spent waiting for a CPU is included: /proc/thread-self/schedstat could not be "
        "read, so a busy machine can make handlers look slower than they are)";
  }
  return out;
}

bool StallDetector::any_running() const {
  std::lock_guard lock(state_->mutex);
  return !state_->running.empty();
}

std::vector<StallDetector::Running> StallDetector::running_now() const {
  std::unique_lock lock(state_->mutex, std::try_to_lock);
  std::vector<Running> out;
  if (!lock.owns_lock()) return out;
  for (const auto& r : state_->running) out.push_back({*r.label, r.thread_id, r.since});
  return out;
}

std::string StallDetector::describe_running() const {
  std::lock_guard lock(state_->mutex);
  if (state_->running.empty()) return "no handler is running";
  std::string out;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& r : state_->running) {
    char text[384];
    std::snprintf(text, sizeof text, "%shandler '%s', running for %.0f ms", out.empty() ? "" : "; ",
                  r.label->c_str(), ms(now - r.since));
    out += text;
  }
  return out;
}

}  // namespace workbook
