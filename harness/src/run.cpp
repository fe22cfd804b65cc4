// The runner behind run_to_completion: drives an io_context, and in virtual
// time moves the clock to the next timer whenever nothing else can run.
#include "workbook/run.hpp"

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "virtual_loop.hpp"
#include "workbook/clock.hpp"
#include "workbook/offload.hpp"
#include "workbook/trace.hpp"

namespace workbook {
namespace {

[[noreturn]] void throw_never_completed(std::string_view what, const char* why,
                                        std::string_view hint = {}) {
  char when[96];
  std::snprintf(when, sizeof when, " (at t=%.1f ms%s).\n", to_ms(Clock::now()),
                VirtualTime::active() ? ", virtual time" : "");
  throw NeverCompleted("never completed: " + std::string(what) + " was still waiting when " + why +
                       when + std::string(hint) + "Pending operations:\n" +
                       Trace::describe_all_pending());
}

// In virtual time the runner sees workbook timers and external work only. An
// io_context that has no ready handler, none of those, and is still not
// stopped has outstanding work of another kind: say what it may be.
constexpr std::string_view kUnknownWork =
    "The event loop still has pending work that virtual time cannot see. If it is a plain "
    "asio::steady_timer or system_timer, use workbook::Timer or workbook::sleep_for (they follow "
    "the virtual clock); if it is a thread pool of your own, use workbook::BlockingPool with "
    "workbook::offload (the runner waits for its jobs, with the clock stopped: a job that "
    "itself waits for the loop, a database read or a timer, waits for good); if it is a "
    "socket, hold a workbook::ExternalWork while it is outstanding. Otherwise a coroutine is "
    "waiting for something nobody will deliver (a channel, a signal).\n";

// One turn of a virtual-time loop: runs the ready handlers (adding how many
// to `handlers`), else waits for work outside the loop (pool jobs, external
// I/O), else moves the clock to the context's next timer deadline. Returns
// false when nothing can ever run again.
bool virtual_turn(boost::asio::io_context& ctx, const detail::LoopTimers& timers,
                  std::size_t& handlers) {
  if (ctx.stopped()) ctx.restart();
  // Read before polling: a job that finishes while poll() runs has posted its
  // completion before its count dropped, so if the count read here was 0 no
  // completion can arrive later without a handler of this turn starting it.
  // (Read after polling, a job finishing between the two would be missed, and
  // its completion would run at a later virtual time.)
  const std::size_t external = pending_external_work();
  const std::size_t ran = ctx.poll();
  handlers += ran;
  if (ran > 0) return true;
  if (detail::after_idle_poll != nullptr) detail::after_idle_poll();
  if (external > 0) {
    // Work outside the loop will post its completion here. Wait for it rather
    // than let virtual time run ahead of it.
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    return true;
  }
  const Clock::time_point next = timers.next_after(Clock::now());
  if (next == Clock::time_point::max()) return false;
  VirtualTime::advance_to(next);
  return true;
}

}  // namespace

namespace detail {

void (*after_idle_poll)() = nullptr;

void drive(boost::asio::io_context& ctx, const std::function<bool()>& done, std::string_view what) {
  if (!VirtualTime::active()) {
    if (ctx.stopped()) ctx.restart();
    while (!done() && ctx.run_one() > 0) {
    }
    if (!done()) throw_never_completed(what, "the event loop ran out of work");
    return;
  }
  LoopTimers& timers = loop_timers_of(ctx);
  const LoopTimers::Driving driving(timers);
  std::size_t handlers = 0;
  while (!done()) {
    if (!virtual_turn(ctx, timers, handlers)) {
      const bool unknown_work = !ctx.stopped() && !timers.has_pending();
      throw_never_completed(what, "nothing was left that could resume it",
                            unknown_work ? kUnknownWork : std::string_view{});
    }
  }
}

}  // namespace detail

std::size_t run_until_idle(boost::asio::io_context& ctx) {
  if (ctx.stopped()) ctx.restart();
  if (!VirtualTime::active()) return ctx.run();
  detail::LoopTimers& timers = detail::loop_timers_of(ctx);
  const detail::LoopTimers::Driving driving(timers);
  std::size_t handlers = 0;
  while (virtual_turn(ctx, timers, handlers)) {
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
  // Shared with the handler for the reason given at detail::TaskResult.
  auto outcome = std::make_shared<detail::TaskResult<bool>>();
  boost::asio::co_spawn(ctx, std::move(task), [outcome](const std::exception_ptr& e) {
    outcome->done = true;
    outcome->error = e;
  });
  detail::drive(
      ctx, [&outcome] { return outcome->done; }, what);
  if (outcome->error) std::rethrow_exception(outcome->error);
}

}  // namespace workbook
