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
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  /// The report the watchdog would print now (also used by its own tests).
  std::string report() const;

 private:
  void watch();

  std::chrono::milliseconds budget_;
  std::string what_;
  const StallDetector* detector_;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace workbook
