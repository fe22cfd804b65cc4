// Chapter 04's provided code: how a note is stored. Both the pitfall and the
// fix use it; the lesson is only about whether the write is awaited.
#include "note_service.hpp"

namespace ch04 {

mockdb::Row note_row(const std::string& title, const std::string& body) {
  mockdb::Row row;
  row["title"] = title;
  row["body"] = body;
  return row;
}

}  // namespace ch04
