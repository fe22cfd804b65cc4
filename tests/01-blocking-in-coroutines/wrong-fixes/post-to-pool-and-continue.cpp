// WRONG: co_await post(pool, use_awaitable) resumes on the loop, not on the pool.
// expect: ran on the event-loop thread
//
// The learner expected post() to "switch threads". In Asio a completion runs
// on the handler's associated executor (boost/asio/impl/post.hpp wraps it in
// a work_dispatcher), and a coroutine's handler is associated with the
// coroutine's executor.
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

  co_await workbook::sleep_for(kStoragePacing);
  //! [post-to-pool]
  // The completion runs on the coroutine's executor: this resumes on the loop.
  co_await boost::asio::post(services.blocking.get_executor(), boost::asio::use_awaitable);
  const std::string bytes = read_attachment(file);  // on the loop's thread
  co_return fingerprint(bytes);
  //! [post-to-pool]
}

}  // namespace ch01
