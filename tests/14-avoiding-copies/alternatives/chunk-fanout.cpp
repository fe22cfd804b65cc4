// RIGHT: broadcast() sends each chunk to every subscriber at once (a group per chunk).
// (layers take ReportRow&&: each callee is awaited at once, so the caller's row outlives it)
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <exception>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "report_service.hpp"

namespace asio = boost::asio;

namespace ch14 {
namespace {

asio::awaitable<mockdb::Id> archive(Services& services, ReportRow&& report) {
  mockdb::Row summary;
  summary["report"] = report.id();
  summary["bytes"] = report.size();
  summary["checksum"] = checksum(report.body());
  summary["stamp"] = report.stamp();
  co_return co_await services.db.create("archive", std::move(summary));
}

asio::awaitable<mockdb::Id> render(Services& services, ReportRow&& report) {
  report.set_stamp("rendered");
  //! [pitfall-layers]
  co_return co_await archive(services, std::move(report));
  //! [pitfall-layers]
}

//! [pitfall-deliver]
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
  const ReportRow& row = report;
  //! [pitfall-share]
  // A subscriber whose send failed gets no more chunks; the others get the
  // whole row, and the first error is thrown at the end.
  std::vector<int> serving;
  serving.reserve(static_cast<std::size_t>(std::max(subscribers, 0)));
  for (int subscriber = 0; subscriber < subscribers; ++subscriber) serving.push_back(subscriber);
  std::exception_ptr first_error;
  for (std::size_t offset = 0; offset < row.size() && !serving.empty(); offset += kChunkBytes) {
    const auto chunk = row.chunk(offset, kChunkBytes);
    std::vector<decltype(asio::co_spawn(ex, services.outbox.send(0, chunk), asio::deferred))> sends;
    sends.reserve(serving.size());
    for (const int subscriber : serving) {
      sends.push_back(asio::co_spawn(ex, services.outbox.send(subscriber, chunk), asio::deferred));
    }
    auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(sends))
                               .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    std::vector<int> still;
    still.reserve(serving.size());
    for (std::size_t i = 0; i < errors.size(); ++i) {
      if (!errors[i]) {
        still.push_back(serving[i]);
      } else if (!first_error) {
        first_error = errors[i];
      }
    }
    serving = std::move(still);
  }
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace ch14
