// expect-error: ignoring return value|nodiscard
// A coroutine that calls workbook::sleep_for() and drops the awaitable: the
// sleep never happens. boost::asio::awaitable is [[nodiscard]], and the
// workbook builds with -Werror=unused-result, so this must not compile.
#include <chrono>

#include "workbook/timer.hpp"

boost::asio::awaitable<void> forgets_to_wait() {
  workbook::sleep_for(std::chrono::milliseconds(10));  // missing co_await
  co_return;
}
