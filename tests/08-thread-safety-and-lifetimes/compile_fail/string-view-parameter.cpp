// expect-error: spawn_owned: the coroutine borrows
//
// A std::string_view parameter is a borrow too: spawn_owned() refuses it, as
// tokio::spawn refuses a future that holds a &str that is not 'static.
#include <boost/asio/io_context.hpp>
#include <string_view>

#include "view_counter.hpp"

namespace {

boost::asio::awaitable<void> log_reader(std::string_view reader) {
  (void)reader.size();
  co_return;
}

}  // namespace

void start(boost::asio::io_context& ctx, const ch08::PageView& view) {
  ch08::spawn_owned(ctx.get_executor(), &log_reader, view.reader());
}
