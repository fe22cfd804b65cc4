// WRONG: the work goes to an asio::thread_pool of its own, which virtual time cannot see.
// expect: use workbook::BlockingPool with workbook::offload
//
// Correct in a program of its own, wrong here: the runner does not know the
// jobs exist, so it finds the loop idle with nothing scheduled.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <stdexcept>

#include "fingerprint_service.hpp"
#include "workbook/timer.hpp"

namespace ch01 {

namespace {
boost::asio::thread_pool& hashing_pool() {
  static boost::asio::thread_pool pool(2);
  return pool;
}
}  // namespace

boost::asio::awaitable<std::string> fingerprint_note(Services& services, mockdb::Id note_id) {
  const auto note = co_await services.db.read("notes", note_id);
  if (!note) throw std::runtime_error("no note " + std::to_string(note_id));
  const std::filesystem::path file =
      services.attachments / std::string(note->at("attachment").as_string());

  co_await workbook::sleep_for(kStoragePacing);
  auto job = [file]() -> boost::asio::awaitable<std::string> {
    co_return fingerprint(read_attachment(file));
  };
  co_return co_await boost::asio::co_spawn(hashing_pool(), job, boost::asio::use_awaitable);
}

}  // namespace ch01
