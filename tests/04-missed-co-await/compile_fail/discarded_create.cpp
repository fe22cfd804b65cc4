// expect-error: ignoring return(ed)? value .*nodiscard
//
// Chapter 04's compile-fail test: the build must reject this file. The call
// to db.create() below builds an awaitable and throws it away, the plainest
// form of the missed co_await. boost::asio::awaitable is declared
// [[nodiscard]], and the workbook builds with -Werror=unused-result, so
// g++ ("ignoring returned value of type 'awaitable<long int>', declared with
// attribute 'nodiscard'") and clang++ ("ignoring return value of function
// declared with 'nodiscard' attribute") both stop here. Writing
// `co_await db.create(...)` instead makes the file compile.
#include <boost/asio/awaitable.hpp>
#include <utility>

#include "mockdb/database.hpp"

boost::asio::awaitable<void> save_note(mockdb::DatabaseService& db) {
  mockdb::Row row;
  row["title"] = "Shopping list";
  db.create("notes", std::move(row));  // the missing co_await: rejected at compile time
  co_return;
}
