// expect-error: spawn_owned: the coroutine borrows
//
// spawn_owned() refuses a coroutine that takes its argument by reference: the
// detached task would outlive the caller's object (the chapter's second bug).
#include <boost/asio/io_context.hpp>

#include "view_counter.hpp"

namespace {

boost::asio::awaitable<void> log_view(const ch08::PageView& view) {
  (void)view.note();
  co_return;
}

}  // namespace

void start(boost::asio::io_context& ctx, const ch08::PageView& view) {
  ch08::spawn_owned(ctx.get_executor(), &log_view, view);
}
