// WRONG: the pacing wait is a plain asio::steady_timer, which virtual time cannot see.
// expect: workbook::Timer or workbook::sleep_for
//
// A correct wait in a program of its own. The workbook's test runs in
// virtual time, where only workbook::Timer and workbook::sleep_for wait.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <stdexcept>

#include "fingerprint_service.hpp"

namespace ch01 {

boost::asio::awaitable<std::string> fingerprint_note(Services& services, mockdb::Id note_id) {
  const auto note = co_await services.db.read("notes", note_id);
  if (!note) throw std::runtime_error("no note " + std::to_string(note_id));
  const std::filesystem::path file =
      services.attachments / std::string(note->at("attachment").as_string());

  boost::asio::steady_timer pacing(co_await boost::asio::this_coro::executor, kStoragePacing);
  co_await pacing.async_wait(boost::asio::use_awaitable);
  auto fingerprint_file = [file] { return fingerprint(read_attachment(file)); };
  co_return co_await workbook::offload(services.blocking.get_executor(), fingerprint_file);
}

}  // namespace ch01
