// WRONG: only the file read is offloaded; the hash still runs on the event-loop thread.
// expect: fingerprint\(\) ran on the event-loop thread
//
// A partial fix: the learner moved the obviously blocking call (file I/O) to
// the pool and kept the "fast" computation inline.
#include <boost/json/object.hpp>
#include <stdexcept>

#include "fingerprint_service.hpp"
#include "workbook/timer.hpp"

namespace ch01 {

boost::asio::awaitable<std::string> fingerprint_note(Services& services, mockdb::Id note_id) {
  const auto note = co_await services.db.read("notes", note_id);
  if (!note) throw std::runtime_error("no note " + std::to_string(note_id));
  const std::filesystem::path file =
      services.attachments / std::string(note->at("attachment").as_string());

  co_await workbook::sleep_for(kStoragePacing);
  auto read = [file] { return read_attachment(file); };
  const std::string bytes = co_await workbook::offload(services.blocking.get_executor(), read);
  co_return fingerprint(bytes);  // milliseconds of CPU, back on the loop
}

}  // namespace ch01
