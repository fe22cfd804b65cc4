// Chapter 14, the pitfall: every layer gets its own copy of a large row.
//
// A coroutine's parameters live in its frame: a row passed by value is
// constructed there from whatever the caller passes. Pass an lvalue and that
// is a deep copy of the whole body, once per layer. broadcast() copies the row
// once more into a mutable shared row, then copies the shared_ptr for every
// chunk, on every loop thread: each copy is an atomic increment on one
// contended counter.
#include "report_service.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

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
  co_return co_await archive(services, report);  // a copy of the whole row in archive's frame
  //! [pitfall-layers]
}

asio::awaitable<void> send_chunk(Services& services, std::shared_ptr<ReportRow> report,
                                 int subscriber, std::size_t offset) {
  co_await services.outbox.send(subscriber, report->chunk(offset, kChunkBytes));
}

//! [pitfall-deliver]
asio::awaitable<void> deliver(Services& services, std::shared_ptr<ReportRow> report,
                              int subscriber) {
  for (std::size_t offset = 0; offset < report->size(); offset += kChunkBytes) {
    co_await send_chunk(services, report, subscriber, offset);  // a shared_ptr copy per chunk
  }
}
//! [pitfall-deliver]

}  // namespace

asio::awaitable<mockdb::Id> publish(Services& services, ReportRow report) {
  if (report.size() == 0) throw std::invalid_argument("publish: the report has no body");
  //! [pitfall-publish]
  co_return co_await render(services, report);  // a copy of the whole row in render's frame
  //! [pitfall-publish]
}

asio::awaitable<void> broadcast(Services& services, ReportRow report, int subscribers) {
  const auto ex = co_await asio::this_coro::executor;
  //! [pitfall-share]
  auto shared = std::make_shared<ReportRow>(report);  // a deep copy, and a mutable shared row
  //! [pitfall-share]
  std::vector<decltype(asio::co_spawn(ex, deliver(services, shared, 0), asio::deferred))> sends;
  sends.reserve(static_cast<std::size_t>(std::max(subscribers, 0)));
  for (int subscriber = 0; subscriber < subscribers; ++subscriber) {
    sends.push_back(asio::co_spawn(ex, deliver(services, shared, subscriber), asio::deferred));
  }
  if (sends.empty()) co_return;
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(sends))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

}  // namespace ch14
