// Chapter 01, the fix: wait asynchronously, and run blocking work elsewhere.
//
// The pacing delay becomes a timer the coroutine awaits, so the loop serves
// other requests meanwhile. The file read and the hash cannot be made
// asynchronous, so they run on the blocking pool, and the coroutine resumes
// on its own executor with the result.
#include "fingerprint_service.hpp"

#include <boost/json/object.hpp>
#include <stdexcept>

#include "workbook/timer.hpp"

namespace ch01 {

boost::asio::awaitable<std::string> fingerprint_note(Services& services, mockdb::Id note_id) {
  const auto note = co_await services.db.read("notes", note_id);
  if (!note) throw std::runtime_error("no note " + std::to_string(note_id));
  const std::filesystem::path file =
      services.attachments / std::string(note->at("attachment").as_string());

  //! [fix]
  co_await workbook::sleep_for(kStoragePacing);  // suspends this coroutine only
  auto fingerprint_file = [file] { return fingerprint(read_attachment(file)); };
  co_return co_await workbook::offload(services.blocking.get_executor(), fingerprint_file);
  //! [fix]
}

}  // namespace ch01
