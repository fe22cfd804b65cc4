// sleep_for on the workbook clock, compiled once so that chapter code does not
// instantiate Asio's timer templates itself.
#include "workbook/timer.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace workbook {

boost::asio::awaitable<void> sleep_for(Clock::duration d) {
  Timer timer(co_await boost::asio::this_coro::executor, d);
  co_await timer.async_wait(boost::asio::use_awaitable);
}

}  // namespace workbook
