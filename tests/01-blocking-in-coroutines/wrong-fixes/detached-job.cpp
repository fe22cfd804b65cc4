// WRONG: the job is spawned detached; the request returns before the fingerprint exists.
// expect: returned the wrong fingerprint
//
// "Fire and forget": nothing blocks, nothing waits, and the caller receives
// whatever the result holds at that moment (nothing).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/object.hpp>
#include <memory>
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
  auto result = std::make_shared<std::string>();
  boost::asio::co_spawn(
      services.blocking.get_executor(),
      [file, result]() -> boost::asio::awaitable<void> {
        *result = fingerprint(read_attachment(file));
        co_return;
      },
      boost::asio::detached);
  co_return *result;
}

}  // namespace ch01
