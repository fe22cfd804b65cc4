// WRONG: deliveries borrow broadcast()'s row; the first error is thrown while others still send.
// expect: expected it to throw only once every delivery had ended
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "report_service.hpp"

namespace asio = boost::asio;

namespace ch14 {
namespace {

asio::awaitable<mockdb::Id> archive(Services& services, ReportRow report) {
  mockdb::Row summary;
  summary["report"] = report.id();
  summary["bytes"] = report.size();
  summary["checksum"] = checksum(report.body());
  summary["stamp"] = report.stamp();
  co_return co_await services.db.create("archive", std::move(summary));
}

asio::awaitable<mockdb::Id> render(Services& services, ReportRow report) {
  report.set_stamp("rendered");
  //! [pitfall-layers]
  co_return co_await archive(services, std::move(report));
  //! [pitfall-layers]
}

//! [pitfall-deliver]
// Borrows the row from broadcast()'s frame.
asio::awaitable<void> deliver(Services& services, const ReportRow& row, int subscriber) {
  for (std::size_t offset = 0; offset < row.size(); offset += kChunkBytes) {
    co_await services.outbox.send(subscriber, row.chunk(offset, kChunkBytes));
  }
}
//! [pitfall-deliver]

}  // namespace

asio::awaitable<mockdb::Id> publish(Services& services, ReportRow report) {
  if (report.size() == 0) throw std::invalid_argument("publish: the report has no body");
  //! [pitfall-publish]
  co_return co_await render(services, std::move(report));
  //! [pitfall-publish]
}

asio::awaitable<void> broadcast(Services& services, ReportRow report, int subscribers) {
  const auto ex = co_await asio::this_coro::executor;
  //! [pitfall-share]
  const ReportRow& row = report;  // broadcast() waits for its deliveries: they may borrow
  //! [pitfall-share]
  if (subscribers <= 0) co_return;
  // The join: every delivery reports its outcome into a thread-safe channel
  // with room for all of them; broadcast() takes exactly one report per
  // delivery, so it returns when the last one ends. The channel is shared so
  // that a delivery's report never outlives it.
  using Done =
      asio::experimental::concurrent_channel<void(boost::system::error_code, std::exception_ptr)>;
  auto done = std::make_shared<Done>(ex, static_cast<std::size_t>(subscribers));
  for (int subscriber = 0; subscriber < subscribers; ++subscriber) {
    asio::co_spawn(ex, deliver(services, row, subscriber), [done](std::exception_ptr e) {
      [[maybe_unused]] const bool sent = done->try_send(boost::system::error_code{}, std::move(e));
    });
  }
  for (int i = 0; i < subscribers; ++i) {
    auto e = co_await done->async_receive(asio::use_awaitable);
    if (e) std::rethrow_exception(e);  // fail fast: report the first error at once
  }
}

}  // namespace ch14
