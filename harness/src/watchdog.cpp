// The watchdog thread (see watchdog.hpp).
#include "workbook/watchdog.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "workbook/stall.hpp"
#include "workbook/trace.hpp"

namespace workbook {

Watchdog::Watchdog(std::chrono::milliseconds budget, std::string what,
                   const StallDetector* detector)
    : budget_(budget), what_(std::move(what)), detector_(detector), thread_([this] { watch(); }) {}

Watchdog::Watchdog(std::chrono::milliseconds budget, std::string what,
                   const StallDetector& detector, std::chrono::milliseconds blocked)
    : budget_(budget),
      what_(std::move(what)),
      detector_(&detector),
      blocked_(blocked),
      thread_([this] { watch(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  done_cv_.notify_one();
  thread_.join();
}

std::string Watchdog::headline() const {
  const std::string start = "deadlock: " + what_ + " did not complete";
  if (blocked_for_.empty()) {
    return start + " within " + std::to_string(budget_.count()) + " ms of real time";
  }
  return start + ": " + blocked_for_;
}

std::string Watchdog::report() const {
  std::string text =
      headline() +
      (blocked_for_.empty()
           ? ": a thread is blocked and nothing can run on it, or the loop is kept busy (a "
             "handler that keeps posting itself, so virtual time never moves on).\n"
           : ", so nothing else can run on it (the watchdog ends a run once a handler has been "
             "blocked for " +
                 std::to_string(blocked_.count()) + " ms, or after " +
                 std::to_string(budget_.count()) + " ms of real time).\n");
  if (detector_ != nullptr) {
    if (!detector_->any_running()) {
      text +=
          "No handler of the event loop is running: the loop waits for something that never "
          "comes (an operation waiting on a thread that is blocked, or on virtual time, which "
          "does not move while work outside the loop, such as a workbook::BlockingPool job, is "
          "pending).\n";
    } else {
      text += "The event-loop thread is inside " + detector_->describe_running() + ".\n";
    }
  }
  text += "Pending operations:\n" + Trace::describe_all_pending();
  return text;
}

namespace {

// The state of thread `id` of this process, from /proc: 'R' running or
// waiting for a CPU, 'S' asleep (a lock, a future, a sleep), 'D' in an
// uninterruptible wait; '?' if it cannot be read.
char thread_state(int id) {
  std::ifstream stat("/proc/self/task/" + std::to_string(id) + "/stat");
  std::string line;
  std::getline(stat, line);
  // "tid (name) S ...": the state follows the name's closing parenthesis.
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() ? line[close + 2] : '?';
}

// Whether another thread of this process kept running (or waiting for a CPU)
// over a few looks at /proc/self/task: an endless loop, or a handler that
// keeps posting itself. A deadlocked thread sleeps (state S) instead. Load on
// the machine does not change the answer: a thread waiting for a CPU is "R"
// too. Returns an empty string when none did, or /proc cannot be read.
std::string busy_thread_note() {
  constexpr int kLooks = 10;  // 10 ms apart
  const auto self = std::to_string(::syscall(SYS_gettid));
  std::map<std::string, int> running;
  std::error_code error;
  for (int look = 0; look < kLooks; ++look) {
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", error)) {
      const auto tid = task.path().filename().string();
      if (tid == self) continue;
      if (thread_state(std::stoi(tid)) == 'R') ++running[tid];
    }
    if (error) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (const auto& [tid, looks] : running) {
    if (looks == kLooks) {
      return "A thread kept running all the time (thread " + tid + " was running in " +
             std::to_string(looks) + " of " + std::to_string(kLooks) +
             " looks): a loop that never ends, or a handler that keeps posting itself, rather "
             "than a thread waiting on a lock.\n";
    }
  }
  return {};
}

}  // namespace

bool Watchdog::wait_watching_blocked(std::unique_lock<std::mutex>& lock,
                                     std::chrono::steady_clock::time_point deadline) {
  constexpr auto kLook = std::chrono::milliseconds(10);
  // The handler seen asleep at every look since `asleep_since` (none: thread 0).
  int thread_id = 0;
  std::chrono::steady_clock::time_point handler_since{}, asleep_since{};
  for (;;) {
    const auto next = std::min(std::chrono::steady_clock::now() + kLook, deadline);
    if (done_cv_.wait_until(lock, next, [this] { return done_; })) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    bool seen = false;
    for (const auto& handler : detector_->running_now()) {
      const char state = thread_state(handler.thread_id);
      if (state != 'S' && state != 'D') continue;
      seen = true;
      if (handler.thread_id != thread_id || handler.since != handler_since) {
        thread_id = handler.thread_id, handler_since = handler.since, asleep_since = now;
      } else if (now - asleep_since >= blocked_) {
        const auto held =
            std::chrono::duration_cast<std::chrono::milliseconds>(now - handler.since);
        blocked_for_ = "the event-loop thread has been blocked for " +
                       std::to_string(held.count()) + " ms in handler '" + handler.label +
                       "' (asleep: neither running nor waiting for a CPU)";
        return false;
      }
      break;
    }
    if (!seen) thread_id = 0;
  }
}

void Watchdog::watch() {
  std::unique_lock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + budget_;
  if (blocked_.count() > 0 && detector_ != nullptr) {
    if (wait_watching_blocked(lock, deadline)) return;
  } else if (done_cv_.wait_until(lock, deadline, [this] { return done_; })) {
    return;
  }
  // Looked at first, while no other thread of the watchdog's exists: a thread
  // just started may wait for a CPU for a while on a busy machine.
  const std::string busy = busy_thread_note();
  // The report takes locks (the traces', the stall detector's); a stuck thread
  // may hold one of them for good. So a second, unconditional deadline ends the
  // process anyway, with a report written in advance and no lock taken.
  std::thread([text = headline() +
                      ", and the full report could not be written (a blocked thread holds a lock "
                      "it needs).\n"] {
    std::this_thread::sleep_for(kReportGrace);
    [[maybe_unused]] const auto written = ::write(STDERR_FILENO, text.data(), text.size());
    std::_Exit(kDeadlockExitCode);
  }).detach();
  const std::string text = report() + busy;
  std::fputs(text.c_str(), stderr);
  std::fflush(stderr);
  std::fflush(stdout);
  // The blocked thread can never be woken; end the process with the report.
  std::_Exit(kDeadlockExitCode);
}

}  // namespace workbook
