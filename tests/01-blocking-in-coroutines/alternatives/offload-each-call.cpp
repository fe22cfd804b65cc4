// RIGHT: each blocking call is offloaded on its own; neither runs on the loop (one more hand-off).
//
// The request returns to the loop between the read and the hash: the bytes
// come back to the coroutine's frame and go out again by value, which is
// correct and only slower (two round trips to the pool instead of one).
#include <boost/json/object.hpp>
#include <stdexcept>
#include <utility>

#include "fingerprint_service.hpp"
#include "workbook/timer.hpp"

namespace ch01 {

boost::asio::awaitable<std::string> fingerprint_note(Services& services, mockdb::Id note_id) {
  const auto note = co_await services.db.read("notes", note_id);
  if (!note) throw std::runtime_error("no note " + std::to_string(note_id));
  const std::filesystem::path file =
      services.attachments / std::string(note->at("attachment").as_string());

  co_await workbook::sleep_for(kStoragePacing);
  auto pool = services.blocking.get_executor();
  auto read = [file] { return read_attachment(file); };
  std::string bytes = co_await workbook::offload(pool, read);
  auto hash = [bytes = std::move(bytes)] { return fingerprint(bytes); };
  co_return co_await workbook::offload(pool, hash);
}

}  // namespace ch01
