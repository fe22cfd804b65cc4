// WRONG: the job is offloaded to the loop's own executor, so it runs on the loop thread.
// expect: ran on the event-loop thread
//
// workbook::offload takes an executor; the learner passed the one at hand.
#include <boost/asio/this_coro.hpp>
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
  auto fingerprint_file = [file] { return fingerprint(read_attachment(file)); };
  const auto loop = co_await boost::asio::this_coro::executor;
  co_return co_await workbook::offload(loop, fingerprint_file);
}

}  // namespace ch01
