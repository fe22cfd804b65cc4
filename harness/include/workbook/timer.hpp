// Timers on the workbook clock. Use workbook::sleep_for in chapter code; use
// workbook::Timer directly when you need to cancel a wait or race it (`||`).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_waitable_timer.hpp>

#include "workbook/clock.hpp"

namespace workbook {

/// An Asio timer that follows workbook::Clock, so it is virtual in tests.
using Timer = boost::asio::basic_waitable_timer<Clock, ClockWaitTraits>;

/// Suspends the calling coroutine for `d` of workbook time. The event loop
/// keeps running other handlers meanwhile. Cancellable like any Asio wait:
/// a cancelled sleep throws boost::system::system_error(operation_aborted).
boost::asio::awaitable<void> sleep_for(Clock::duration d);

}  // namespace workbook
