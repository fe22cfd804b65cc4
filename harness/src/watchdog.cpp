// The watchdog thread (see watchdog.hpp).
#include "workbook/watchdog.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "workbook/stall.hpp"
#include "workbook/trace.hpp"

namespace workbook {

Watchdog::Watchdog(std::chrono::milliseconds budget, std::string what,
                   const StallDetector* detector)
    : budget_(budget), what_(std::move(what)), detector_(detector), thread_([this] { watch(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  done_cv_.notify_one();
  thread_.join();
}

std::string Watchdog::report() const {
  std::string text =
      "deadlock: " + what_ + " did not complete within " + std::to_string(budget_.count()) +
      " ms of real time: a thread is blocked and nothing can run on it, or the loop is kept "
      "busy (a handler that keeps posting itself, so virtual time never moves on).\n";
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

void Watchdog::watch() {
  std::unique_lock lock(mutex_);
  if (done_cv_.wait_for(lock, budget_, [this] { return done_; })) return;
  // The report takes locks (the traces', the stall detector's); a stuck thread
  // may hold one of them for good. So a second, unconditional deadline ends the
  // process anyway, with a report written in advance and no lock taken.
  std::thread([text = std::string("deadlock: ") + what_ + " did not complete within " +
                      std::to_string(budget_.count()) +
                      " ms of real time, and the full report could not be written (a blocked "
                      "thread holds a lock it needs).\n"] {
    std::this_thread::sleep_for(kReportGrace);
    [[maybe_unused]] const auto written = ::write(STDERR_FILENO, text.data(), text.size());
    std::_Exit(kDeadlockExitCode);
  }).detach();
  const std::string text = report();
  std::fputs(text.c_str(), stderr);
  std::fflush(stderr);
  std::fflush(stdout);
  // The blocked thread can never be woken; end the process with the report.
  std::_Exit(kDeadlockExitCode);
}

}  // namespace workbook
