// Chapter 04's provided code: how a note is stored, and how a failed write is
// reported. Both the pitfall and the fix use it; the lesson is only about
// whether the writes are awaited.
#include <boost/system/system_error.hpp>
#include <stdexcept>

#include "note_service.hpp"

namespace ch04 {

mockdb::Row note_row(const std::string& title, const std::string& body) {
  mockdb::Row row;
  row["title"] = title;
  row["body"] = body;
  return row;
}

SaveResult failed_write(const std::exception_ptr& failure) {
  if (!failure) throw std::invalid_argument("failed_write() was given no exception");
  //! [failed-write]
  try {
    std::rethrow_exception(failure);  // the only way to look inside an exception_ptr
  } catch (const boost::system::system_error& database_error) {
    return SaveResult{.saved = false, .id = 0, .error = database_error.code()};
  }  // anything else (a bug, bad_alloc) goes on to the caller
  //! [failed-write]
}

}  // namespace ch04
