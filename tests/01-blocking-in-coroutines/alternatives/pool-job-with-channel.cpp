// RIGHT: a job posted to services.blocking sends its result through a channel awaited on the loop.
//
// The shape of a callback-based worker: the job owns everything it uses (the
// path and the channel by shared_ptr), and the coroutine resumes on its own
// executor because the channel delivers the receive's completion there.
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <exception>
#include <memory>
#include <stdexcept>

#include "fingerprint_service.hpp"
#include "workbook/timer.hpp"

namespace ch01 {

namespace {
// One message: the exception the job threw (null if none) and the result.
using ResultChannel = boost::asio::experimental::concurrent_channel<void(
    boost::system::error_code, std::exception_ptr, std::string)>;
}  // namespace

boost::asio::awaitable<std::string> fingerprint_note(Services& services, mockdb::Id note_id) {
  const auto note = co_await services.db.read("notes", note_id);
  if (!note) throw std::runtime_error("no note " + std::to_string(note_id));
  const std::filesystem::path file =
      services.attachments / std::string(note->at("attachment").as_string());

  co_await workbook::sleep_for(kStoragePacing);
  // Room for the one message, so the job never waits for the receiver.
  auto channel = std::make_shared<ResultChannel>(co_await boost::asio::this_coro::executor, 1);
  boost::asio::post(services.blocking.get_executor(), [file, channel] {
    std::exception_ptr error;
    std::string result;
    try {
      result = fingerprint(read_attachment(file));
    } catch (...) {
      error = std::current_exception();
    }
    channel->try_send(boost::system::error_code{}, error, std::move(result));
  });
  auto [error, result] = co_await channel->async_receive(boost::asio::use_awaitable);
  if (error) std::rethrow_exception(error);
  co_return result;
}

}  // namespace ch01
