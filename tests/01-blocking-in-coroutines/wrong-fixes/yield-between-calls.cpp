// WRONG: yielding between the blocking calls leaves each of them on the event-loop thread.
// expect: ran on the event-loop thread
//
// co_await asio::post(use_awaitable) does return to the loop, so other
// requests get a turn between the calls: each call still blocks the thread
// while it runs, and it stays under the budget only because the test's
// files are small.
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
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

  //! [yield]
  co_await workbook::sleep_for(kStoragePacing);
  co_await boost::asio::post(boost::asio::use_awaitable);  // back to the loop, resumed later
  const std::string bytes = read_attachment(file);         // still on the loop's thread
  co_await boost::asio::post(boost::asio::use_awaitable);
  co_return fingerprint(bytes);  // still on the loop's thread
  //! [yield]
}

}  // namespace ch01
