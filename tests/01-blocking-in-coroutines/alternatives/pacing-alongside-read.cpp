// RIGHT: the pacing wait overlaps the database read (&&); the full delay passes, off the loop.
//
// The storage backend asks for 30 ms between requests to the storage, not
// after the database read: starting the wait together with the read is
// allowed, and saves the read's latency.
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json/object.hpp>
#include <stdexcept>

#include "fingerprint_service.hpp"
#include "workbook/timer.hpp"

namespace ch01 {

boost::asio::awaitable<std::string> fingerprint_note(Services& services, mockdb::Id note_id) {
  using boost::asio::experimental::awaitable_operators::operator&&;
  const auto note =
      co_await (services.db.read("notes", note_id) && workbook::sleep_for(kStoragePacing));
  if (!note) throw std::runtime_error("no note " + std::to_string(note_id));
  const std::filesystem::path file =
      services.attachments / std::string(note->at("attachment").as_string());

  auto fingerprint_file = [file] { return fingerprint(read_attachment(file)); };
  co_return co_await workbook::offload(services.blocking.get_executor(), fingerprint_file);
}

}  // namespace ch01
