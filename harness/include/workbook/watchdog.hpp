// A real-time guard against code that blocks a thread for good.
//
// Virtual time cannot help when a thread is stuck in std::mutex::lock() or
// std::future::get(): nothing will ever run again on it. The watchdog is a
// separate thread with a real-time budget. If the guarded scope has not ended
// when the budget runs out, it prints a deadlock report (what was guarded,
// which handler holds the event loop, which operations are pending) and ends
// the process with exit code kDeadlockExitCode: a blocked thread cannot be
// unblocked, and the report is the useful thing to leave behind.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace workbook {

class StallDetector;

/// The exit code of a process ended by a Watchdog.
inline constexpr int kDeadlockExitCode = 86;

/// How long a Watchdog whose budget ran out waits for its full report before
/// it ends the process with a short one (a blocked thread may hold a lock the
/// report needs).
inline constexpr std::chrono::seconds kReportGrace{2};

/// Ends the process with a deadlock report if not destroyed within `budget`.
class Watchdog {
 public:
  /// Guards the scope that owns this object. `what` names the guarded work
  /// ("8 requests through a pool of 2"). With `detector`, the report also says
  /// which handler held the event-loop thread, and since when.
  Watchdog(std::chrono::milliseconds budget, std::string what,
           const StallDetector* detector = nullptr);
  /// As above, and ends the run early, with the same report, once a handler
  /// of `detector` has kept its event-loop thread asleep for `blocked` without
  /// a break: blocked on a lock, a future or a blocking call (neither running
  /// nor waiting for a CPU, which a busy machine cannot fake). For scopes where
  /// no handler may ever block: a deadlock is then reported after `blocked`
  /// rather than the whole budget. The budget still ends any other hang.
  Watchdog(std::chrono::milliseconds budget, std::string what, const StallDetector& detector,
           std::chrono::milliseconds blocked);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  /// The report the watchdog would print now (also used by its own tests).
  std::string report() const;

 private:
  void watch();
  // "deadlock: <what> did not complete within 1000 ms of real time", or
  // "... did not complete: the event-loop thread has been blocked for ...".
  std::string headline() const;
  // Waits until the scope ends (true) or a handler has been blocked for
  // blocked_ (false), at most until `deadline`, looking every few milliseconds.
  bool wait_watching_blocked(std::unique_lock<std::mutex>& lock,
                             std::chrono::steady_clock::time_point deadline);

  std::chrono::milliseconds budget_;
  std::string what_;
  const StallDetector* detector_;
  std::chrono::milliseconds blocked_{0};  // 0: wait the whole budget
  std::string blocked_for_;               // set when the run ended early: "blocked for ..."

  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace workbook
