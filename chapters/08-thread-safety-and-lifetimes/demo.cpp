// Chapter 08's demo: 8 readers view note 1 64 times each, on an io_context run
// by 2 threads, and 4 requests are counted in the background, each request
// destroyed as soon as record_in_background() returns. Built twice, as
// ch08_demo_pitfall and ch08_demo_fix. It prints the views counted and lost,
// how often two threads were inside the cache at once, and what the
// background tasks logged.
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mockdb/mock_database.hpp"
#include "view_counter.hpp"
#include "workbook/format.hpp"
#include "workbook/measured.hpp"
#include "workbook/run.hpp"
#include "workbook/variant.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr int kReaders = 8;
constexpr int kViewsEach = 64;
constexpr int kRequests = 4;

asio::awaitable<void> add_note(mockdb::DatabaseService& db) {
  mockdb::Row row;
  row["title"] = "a popular note";
  row["views"] = 0;
  co_await db.create("notes", std::move(row));
}

asio::awaitable<void> read_repeatedly(ch08::ViewCounter& counter, int views) {
  for (int i = 0; i < views; ++i) co_await counter.record_view(1);
}

void demo() {
  std::printf("chapter 08, %s: %d readers view note 1 %d times each, on 2 loop threads\n",
              workbook::variant_name(), kReaders, kViewsEach);
  std::int64_t views_counted = 0;
  asio::io_context ctx(2);
  mockdb::MockDatabase db;
  workbook::run_to_completion(ctx, add_note(db));
  ctx.restart();
  {
    ch08::ViewCounter counter(db, ctx.get_executor(), 1, 20ms);
    for (int r = 0; r < kReaders; ++r) {
      asio::co_spawn(ctx, read_repeatedly(counter, kViewsEach), asio::detached);
    }
    {
      std::vector<std::jthread> loop;
      loop.reserve(2);
      for (int t = 0; t < 2; ++t) loop.emplace_back([&ctx] { ctx.run(); });
    }
    const std::int64_t counted = counter.cached_views(1);
    const int expected = kReaders * kViewsEach;
    std::printf("  views counted: %lld of %d (%lld lost)\n", static_cast<long long>(counted),
                expected, static_cast<long long>(expected - counted));
    std::printf("  calls to the cache that overlapped a call on the other thread: %lld\n",
                static_cast<long long>(counter.cache_overlaps()));
    views_counted = counted;
  }

  std::printf("\n%d requests counted in the background, each destroyed at once:\n", kRequests);
  ctx.restart();
  const std::int64_t before = ch08::PageView::reads_after_destruction();
  {
    ch08::ViewCounter counter(db, ctx.get_executor(), 1);
    for (int i = 1; i <= kRequests; ++i) {
      auto request =
          std::make_unique<ch08::PageView>(1, workbook::format("reader-number-%d-of-many", i));
      counter.record_in_background(*request);
    }
  }
  workbook::run_until_idle(ctx);
  std::printf("  reads of a destroyed PageView: %lld\n",
              static_cast<long long>(ch08::PageView::reads_after_destruction() - before));
  std::printf("  rows logged: %zu of %d\n", db.count("view_log"), kRequests);
  if (db.count("view_log") < static_cast<std::size_t>(kRequests)) {
    std::printf(
        "  (a task that read a destroyed request got note 0 and threw; the detached\n"
        "   token drops the exception, so nothing says so)\n");
  }
  for (mockdb::Id id = 1; id <= static_cast<mockdb::Id>(db.count("view_log")); ++id) {
    const auto row = db.peek("view_log", id);
    std::printf("  view_log %lld: note %lld, reader \"%s\"\n", static_cast<long long>(id),
                static_cast<long long>(row->at("note").as_int64()),
                std::string(row->at("reader").as_string()).c_str());
  }
  workbook::print_measured("views_counted", static_cast<double>(views_counted), "views");
}

}  // namespace

int main() { return workbook::run_demo("the chapter 08 demo", demo); }
