// Handler timing for the stall detector (see stall.hpp).
#include "workbook/stall.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace workbook {

namespace detail {

struct StallState {
  explicit StallState(std::chrono::nanoseconds b) : budget(b) {}
  const std::chrono::nanoseconds budget;
  mutable std::mutex mutex;
  StallDetector::Stall longest;
  std::size_t handlers = 0;
  std::size_t over_budget = 0;
  // The handler running now, for the watchdog's report.
  const std::string* running_label = nullptr;
  std::chrono::steady_clock::time_point running_since{};
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
std::chrono::nanoseconds runqueue_wait() noexcept {
  struct File {
    int fd = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    ~File() {
      if (fd >= 0) ::close(fd);
    }
  };
  thread_local File file;
  if (file.fd < 0) return {};
  char text[128];
  const ssize_t n = ::pread(file.fd, text, sizeof text - 1, 0);
  if (n <= 0) return {};
  text[n] = '\0';
  // "<ns on cpu> <ns waiting on a runqueue> <timeslices>"
  char* rest = nullptr;
  std::strtoull(text, &rest, 10);
  return std::chrono::nanoseconds(std::strtoull(rest, nullptr, 10));
}
}  // namespace

HandlerScope::HandlerScope(StallState* state, const std::string* label) noexcept
    : state_(state), label_(label), outermost_(depth++ == 0) {
  if (!outermost_) return;
  start_ = std::chrono::steady_clock::now();
  waited_ = runqueue_wait();
  std::lock_guard lock(state_->mutex);
  state_->running_label = label_;
  state_->running_since = start_;
}

HandlerScope::~HandlerScope() {
  --depth;
  if (!outermost_) return;
  const auto took = std::chrono::steady_clock::now() - start_ - (runqueue_wait() - waited_);
  std::lock_guard lock(state_->mutex);
  state_->running_label = nullptr;
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
  char text[512];
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
  return text;
}

std::string StallDetector::describe_running() const {
  std::lock_guard lock(state_->mutex);
  if (state_->running_label == nullptr) return "no handler is running";
  char text[384];
  std::snprintf(text, sizeof text, "handler '%s', running for %.0f ms",
                state_->running_label->c_str(),
                ms(std::chrono::steady_clock::now() - state_->running_since));
  return text;
}

}  // namespace workbook
