// WRONG: deliveries are spawned `detached`: no copy, but broadcast() returns before any is done.
// expect: when broadcast\(\) returned; expected the whole row
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
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
  co_return co_await archive(services, std::move(report));  // a move: no copy of the body
}

asio::awaitable<void> deliver(Services& services, std::shared_ptr<const ReportRow> report,
                              int subscriber) {
  // Borrowed from `report`, which this frame owns until the loop has ended.
  const ReportRow& row = *report;
  for (std::size_t offset = 0; offset < row.size(); offset += kChunkBytes) {
    co_await services.outbox.send(subscriber, row.chunk(offset, kChunkBytes));
  }
}

}  // namespace

asio::awaitable<mockdb::Id> publish(Services& services, ReportRow report) {
  if (report.size() == 0) throw std::invalid_argument("publish: the report has no body");
  co_return co_await render(services, std::move(report));
}

asio::awaitable<void> broadcast(Services& services, ReportRow report, int subscribers) {
  const auto ex = co_await asio::this_coro::executor;
  auto shared = std::make_shared<const ReportRow>(std::move(report));  // moved in, read-only
  for (int subscriber = 0; subscriber < subscribers; ++subscriber) {
    // The shared_ptr keeps the row alive for as long as any delivery runs.
    asio::co_spawn(ex, deliver(services, shared, subscriber), asio::detached);
  }
  co_return;
}

}  // namespace ch14
