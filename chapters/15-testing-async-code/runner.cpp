// Chapter 15's runner: how your tests are run against one implementation.
//
// Each test gets a fresh Fixture. Its EXPECT_/ASSERT_ failures are captured
// (GoogleTest's ScopedFakeTestPartResultReporter, gtest-spi.h) instead of
// failing whatever test or program runs them, and so is an exception that
// escapes it: the chapter's suite, demo and benchmark then judge the outcome.
// A test that blocks its thread for good is ended by a watchdog naming it.
#include <cxxabi.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <exception>
#include <string>
#include <thread>
#include <typeinfo>

#include "note_service_runner.hpp"
#include "workbook/watchdog.hpp"

namespace ch15 {

namespace {

// "workbook::NeverCompleted: what it said" for any exception.
std::string describe(const std::exception_ptr& thrown) {
  try {
    std::rethrow_exception(thrown);
  } catch (const std::exception& e) {
    int status = 0;
    const std::unique_ptr<char, void (*)(void*)> name(
        abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, &status), std::free);
    return std::string(status == 0 ? name.get() : typeid(e).name()) + ": " + e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

const char* impl_name(Impl impl) {
  for (const BrokenImpl& broken : broken_impls()) {
    if (broken.impl == impl) return broken.name;
  }
  return "the correct service";
}

// `inside`, with each call taking `pause` of real time before it returns.
class SlowOnTheWall final : public NoteService {
 public:
  SlowOnTheWall(std::unique_ptr<NoteService> inside, std::chrono::microseconds pause)
      : inside_(std::move(inside)), pause_(pause) {}
  boost::asio::awaitable<mockdb::Id> save(std::string title) override {
    wait();
    return inside_->save(std::move(title));
  }
  boost::asio::awaitable<std::optional<std::string>> title(mockdb::Id id) override {
    wait();
    return inside_->title(id);
  }
  boost::asio::awaitable<bool> rename(mockdb::Id id, std::string title) override {
    wait();
    return inside_->rename(id, std::move(title));
  }
  boost::asio::awaitable<void> like(mockdb::Id id) override {
    wait();
    return inside_->like(id);
  }
  boost::asio::awaitable<std::int64_t> likes(mockdb::Id id) override {
    wait();
    return inside_->likes(id);
  }
  boost::asio::awaitable<mockdb::Id> save_within(std::string title,
                                                 workbook::Clock::duration deadline) override {
    wait();
    return inside_->save_within(std::move(title), deadline);
  }

 private:
  void wait() const { std::this_thread::sleep_for(pause_); }
  std::unique_ptr<NoteService> inside_;
  std::chrono::microseconds pause_;
};

}  // namespace

Fixture::Fixture(const std::function<std::unique_ptr<NoteService>(mockdb::DatabaseService&)>& make)
    : service(make(db)), notes(*service) {}

std::vector<Outcome> run_against(const TestList& tests, Impl impl, std::chrono::milliseconds budget,
                                 std::chrono::microseconds wall_per_call) {
  const auto make = [impl, wall_per_call](mockdb::DatabaseService& db) {
    std::unique_ptr<NoteService> service = make_note_service(impl, db);
    if (wall_per_call > std::chrono::microseconds::zero()) {
      service = std::make_unique<SlowOnTheWall>(std::move(service), wall_per_call);
    }
    return service;
  };
  std::vector<Outcome> outcomes;
  for (const NamedTest& test : tests.tests()) {
    Outcome outcome;
    outcome.test = test.name;
    testing::TestPartResultArray results;
    {
      const workbook::Watchdog watchdog(budget,
                                        "your test '" + test.name + "' against " + impl_name(impl));
      Fixture fixture(make);
      {
        const testing::ScopedFakeTestPartResultReporter capture(
            testing::ScopedFakeTestPartResultReporter::INTERCEPT_ALL_THREADS, &results);
        try {
          test.run(fixture);
        } catch (...) {
          outcome.failures.push_back("it threw " + describe(std::current_exception()));
        }
      }
      const mockdb::Stats stats = fixture.db.stats();
      outcome.db_operations = stats.total.started;
      outcome.db_failures = stats.total.failed;
      outcome.simulated = workbook::Clock::now().time_since_epoch();  // it started at zero
    }
    for (int i = 0; i < results.size(); ++i) {
      const testing::TestPartResult& result = results.GetTestPartResult(i);
      if (!result.failed()) continue;
      std::string where = result.file_name() != nullptr ? result.file_name() : "?";
      const std::string::size_type slash = where.find_last_of('/');
      if (slash != std::string::npos) where.erase(0, slash + 1);
      outcome.failures.push_back(where + ":" + std::to_string(result.line_number()) + ": " +
                                 result.message());
    }
    outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

}  // namespace ch15
