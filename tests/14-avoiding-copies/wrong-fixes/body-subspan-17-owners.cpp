// WRONG: a shared_ptr copy per chunk; bytes read through body().subspan() instead of chunk().
// expect: the shared row had [0-9]+ shared_ptr owners at once while a chunk was read
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
  //! [pitfall-layers]
  co_return co_await archive(services, std::move(report));
  //! [pitfall-layers]
}

asio::awaitable<void> send_chunk(Services& services, std::shared_ptr<const ReportRow> report,
                                 int subscriber, std::size_t offset) {
  const auto body = report->body();
  co_await services.outbox.send(subscriber,
                                body.subspan(offset, std::min(kChunkBytes, body.size() - offset)));
}

//! [pitfall-deliver]
asio::awaitable<void> deliver(Services& services, std::shared_ptr<const ReportRow> report,
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
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

}  // namespace ch14
