// WRONG: the deliveries' errors are replaced by a std::runtime_error that only counts them.
// expect: expected the std::out_of_range the send to subscriber [0-9]+ threw
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <memory>
#include <stdexcept>
#include <string>
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
  std::vector<decltype(asio::co_spawn(ex, deliver(services, shared, 0), asio::deferred))> sends;
  sends.reserve(static_cast<std::size_t>(std::max(subscribers, 0)));
  for (int subscriber = 0; subscriber < subscribers; ++subscriber) {
    sends.push_back(asio::co_spawn(ex, deliver(services, shared, subscriber), asio::deferred));
  }
  if (sends.empty()) co_return;
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(sends))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  std::size_t failed = 0;
  for (const auto& error : errors) {
    if (error) ++failed;
  }
  if (failed > 0) {
    throw std::runtime_error("broadcast: " + std::to_string(failed) + " of " +
                             std::to_string(subscribers) + " deliveries failed");
  }
}

}  // namespace ch14
