// Chapter 01, the pitfall: a coroutine that blocks the thread it runs on.
//
// Everything here is correct code in a synchronous program. In a coroutine on
// an io_context it is a bug: each of the three marked lines keeps the event
// loop's only thread busy, so every other request waits behind this one.
#include "fingerprint_service.hpp"

#include <boost/json/object.hpp>
#include <stdexcept>
#include <thread>

namespace ch01 {

boost::asio::awaitable<std::string> fingerprint_note(Services& services, mockdb::Id note_id) {
  const auto note = co_await services.db.read("notes", note_id);
  if (!note) throw std::runtime_error("no note " + std::to_string(note_id));
  const std::filesystem::path file =
      services.attachments / std::string(note->at("attachment").as_string());

  //! [pitfall]
  std::this_thread::sleep_for(kStoragePacing);      // blocks the event loop
  const std::string bytes = read_attachment(file);  // blocking file I/O on the loop
  co_return fingerprint(bytes);                     // milliseconds of CPU on the loop
  //! [pitfall]
}

}  // namespace ch01
