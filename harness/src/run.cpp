// The runner behind run_to_completion: drives an io_context, and in virtual
// time moves the clock to the next timer whenever nothing else can run.
#include "workbook/run.hpp"

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "workbook/clock.hpp"
#include "workbook/offload.hpp"
#include "workbook/trace.hpp"

namespace workbook {
namespace {

[[noreturn]] void throw_never_completed(std::string_view what, const char* why) {
  char when[96];
  std::snprintf(when, sizeof when, " (at t=%.1f ms%s).\n", to_ms(Clock::now()),
                VirtualTime::active() ? ", virtual time" : "");
  throw NeverCompleted("never completed: " + std::string(what) + " was still waiting when " + why +
                       when + "Pending operations:\n" + Trace::describe_all_pending());
}

// One turn of a virtual-time loop: runs the ready handlers (adding how many
// to `handlers`), else waits for pool jobs, else moves the clock to the next
// timer. Returns false when nothing can ever run again.
bool virtual_turn(boost::asio::io_context& ctx, std::size_t& handlers) {
  if (ctx.stopped()) ctx.restart();
  detail::reset_next_deadline();
  const std::size_t ran = ctx.poll();
  handlers += ran;
  if (ran > 0) return true;
  if (pending_external_jobs() > 0) {
    // A blocking job is running on a thread pool; its completion will be
    // posted to the loop. Wait for it rather than let virtual time run ahead.
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    return true;
  }
  const Clock::time_point next = detail::next_deadline();
  if (next == Clock::time_point::max()) return false;
  VirtualTime::advance_to(next);
  return true;
}

}  // namespace

namespace detail {

void drive(boost::asio::io_context& ctx, const bool& done, std::string_view what) {
  if (!VirtualTime::active()) {
    if (ctx.stopped()) ctx.restart();
    while (!done && ctx.run_one() > 0) {
    }
    if (!done) throw_never_completed(what, "the event loop ran out of work");
    return;
  }
  std::size_t handlers = 0;
  while (!done) {
    if (!virtual_turn(ctx, handlers)) {
      throw_never_completed(what, "nothing was left that could resume it");
    }
  }
}

}  // namespace detail

std::size_t run_until_idle(boost::asio::io_context& ctx) {
  if (ctx.stopped()) ctx.restart();
  if (!VirtualTime::active()) return ctx.run();
  std::size_t handlers = 0;
  while (virtual_turn(ctx, handlers)) {
  }
  return handlers;
}

int run_demo(std::string_view demo, const std::function<void()>& body) noexcept {
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%.*s failed: %s\n", static_cast<int>(demo.size()), demo.data(), e.what());
  } catch (...) {
    std::fprintf(stderr, "%.*s failed with an unknown exception\n", static_cast<int>(demo.size()),
                 demo.data());
  }
  return 1;
}

std::size_t loop_threads(std::size_t fallback) {
  const char* text = std::getenv("WORKBOOK_LOOP_THREADS");
  if (text == nullptr || *text == '\0') return fallback;
  const long n = std::strtol(text, nullptr, 10);
  return n > 0 && n <= 64 ? static_cast<std::size_t>(n) : fallback;
}

void run_to_completion(boost::asio::io_context& ctx, boost::asio::awaitable<void> task,
                       std::string_view what) {
  bool done = false;
  std::exception_ptr error;
  boost::asio::co_spawn(ctx, std::move(task), [&](const std::exception_ptr& e) {
    done = true;
    error = e;
  });
  detail::drive(ctx, done, what);
  if (error) std::rethrow_exception(error);
}

}  // namespace workbook
