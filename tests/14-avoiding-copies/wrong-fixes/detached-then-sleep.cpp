// WRONG: deliveries spawned `detached`, then a sleep "long enough": returns late, errors lost.
// expect: returned at 100.000 ms of virtual time, 83.000 ms after the last send had ended
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "report_service.hpp"
#include "workbook/timer.hpp"

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
asio::awaitable<void> deliver(Services& services, std::shared_ptr<const ReportRow> report,
                              int subscriber) {
  const ReportRow& row = *report;
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
  auto shared = std::make_shared<const ReportRow>(std::move(report));
  //! [pitfall-share]
  for (int subscriber = 0; subscriber < subscribers; ++subscriber) {
    asio::co_spawn(ex, deliver(services, shared, subscriber), asio::detached);
  }
  co_await workbook::sleep_for(std::chrono::milliseconds(100));  // "long enough"
}

}  // namespace ch14
