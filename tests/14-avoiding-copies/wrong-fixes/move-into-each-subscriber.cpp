// WRONG: the row is moved into every subscriber's task: the first gets it, the others an empty row.
// expect: subscriber 1 had received 0 of 65636 bytes
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

asio::awaitable<void> deliver(Services& services, ReportRow row, int subscriber) {
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
  std::vector<decltype(asio::co_spawn(ex, deliver(services, std::move(report), 0), asio::deferred))>
      sends;
  sends.reserve(static_cast<std::size_t>(std::max(subscribers, 0)));
  // The mistake this entry shows; clang-tidy's bugprone-use-after-move flags it.
  // NOLINTBEGIN(bugprone-use-after-move)
  for (int subscriber = 0; subscriber < subscribers; ++subscriber) {
    sends.push_back(
        asio::co_spawn(ex, deliver(services, std::move(report), subscriber), asio::deferred));
  }
  // NOLINTEND(bugprone-use-after-move)
  if (sends.empty()) co_return;
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(sends))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

}  // namespace ch14
