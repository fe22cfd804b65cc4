// Chapter 10's provided code: what a save writes, and the names of the
// refusals. Both the pitfall and the fix use it; the lesson is only about
// what happens to a failure.
#include "note_saver.hpp"

namespace ch10 {

const char* to_string(Refusal refusal) noexcept {
  switch (refusal) {
    case Refusal::no_such_note:
      return "no such note";
    case Refusal::duplicate_title:
      return "duplicate title";
  }
  return "unknown refusal";
}

mockdb::Row note_fields(const Edit& edit) {
  mockdb::Row fields;
  fields["title"] = edit.title;
  fields["body"] = edit.body;
  return fields;
}

}  // namespace ch10
