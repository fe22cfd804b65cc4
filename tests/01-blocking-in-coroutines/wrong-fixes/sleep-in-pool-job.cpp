// WRONG: the pacing delay is a thread sleep inside the pool job, not a wait in virtual time.
// expect: pacing delay did not pass in virtual time
//
// The learner moved all three blocking lines into the offloaded job, the
// sleep with them. Nothing blocks the loop any more, but the wait holds one
// of the pool's two threads for 30 ms, and a test in virtual time sees a
// request that never waited.
#include <boost/json/object.hpp>
#include <stdexcept>
#include <thread>

#include "fingerprint_service.hpp"

namespace ch01 {

boost::asio::awaitable<std::string> fingerprint_note(Services& services, mockdb::Id note_id) {
  const auto note = co_await services.db.read("notes", note_id);
  if (!note) throw std::runtime_error("no note " + std::to_string(note_id));
  const std::filesystem::path file =
      services.attachments / std::string(note->at("attachment").as_string());

  auto paced_fingerprint = [file] {
    std::this_thread::sleep_for(kStoragePacing);
    return fingerprint(read_attachment(file));
  };
  co_return co_await workbook::offload(services.blocking.get_executor(), paced_fingerprint);
}

}  // namespace ch01
