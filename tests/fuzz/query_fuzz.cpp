// libFuzzer target for the mock database's query language: any byte string
// either parses, or is rejected with a QueryError whose position lies inside
// the input; a parsed query evaluates against a small table without crashing
// (its errors are system_errors with a mockdb code, never anything else).
// Built by the `fuzz` preset (clang, libFuzzer, AddressSanitizer).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "mockdb/query.hpp"
#include "mockdb/store.hpp"

namespace {

// A table with every case the evaluator distinguishes: integers, strings, doubles, null and
// missing fields (NULL), and a row whose "rank" is a string, so type errors are reached too; a
// second table whose name differs only in case reaches the no-such-table hint.
mockdb::Store& sample_store() {
  static mockdb::Store store;
  static const bool filled = [] {
    for (int i = 0; i < 20; ++i) {
      mockdb::Row row = {{"rank", i % 7}, {"score", i * 0.5}};
      if (i % 5 != 0) row["title"] = i % 2 == 0 ? "even" : "odd";
      if (i % 3 == 0) row["score"] = nullptr;
      if (i == 17) row["rank"] = "seventeen";
      store.insert("notes", std::move(row));
    }
    store.insert("Archive", {{"rank", 1}});
    return true;
  }();
  (void)filled;
  return store;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // libFuzzer hands over bytes; the parser reads characters.
  const std::string_view sql(reinterpret_cast<const char*>(data),  // NOLINT(*-reinterpret-cast)
                             size);
  mockdb::Query query;
  try {
    query = mockdb::parse_query(sql);
  } catch (const mockdb::QueryError& e) {
    if (e.position() > size || e.code() != mockdb::Errc::query_syntax) std::abort();
    return 0;
  }
  const mockdb::Params params = {3, "odd", 1.5, true, nullptr, -2};
  try {
    (void)sample_store().select(query, params);
  } catch (const boost::system::system_error& e) {
    if (e.code().category() != mockdb::category()) std::abort();
  }
  return 0;
}
