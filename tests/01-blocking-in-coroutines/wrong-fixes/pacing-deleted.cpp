// WRONG: the pacing delay is deleted instead of awaited: requests no longer wait 30 ms.
// expect: pacing delay did not pass in virtual time
//
// The shortest change that removes the 30 ms stall: delete the sleep. The
// blocking work is offloaded correctly.
#include <boost/json/object.hpp>
#include <stdexcept>

#include "fingerprint_service.hpp"

namespace ch01 {

boost::asio::awaitable<std::string> fingerprint_note(Services& services, mockdb::Id note_id) {
  const auto note = co_await services.db.read("notes", note_id);
  if (!note) throw std::runtime_error("no note " + std::to_string(note_id));
  const std::filesystem::path file =
      services.attachments / std::string(note->at("attachment").as_string());

  auto fingerprint_file = [file] { return fingerprint(read_attachment(file)); };
  co_return co_await workbook::offload(services.blocking.get_executor(), fingerprint_file);
}

}  // namespace ch01
