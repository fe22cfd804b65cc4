// WRONG: the work runs under std::async, and future.get() blocks the loop until it is done.
// expect: nor one of services\.blocking's threads
//
// The work is "on another thread", and the handler holds the loop only for
// the few ms of the hash, under the stall budget; the loop is blocked all
// the same, and a slower file would show it.
#include <boost/json/object.hpp>
#include <future>
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
  auto result =
      std::async(std::launch::async, [file] { return fingerprint(read_attachment(file)); });
  co_return result.get();  // blocks the loop's thread until the job is done
}

}  // namespace ch01
