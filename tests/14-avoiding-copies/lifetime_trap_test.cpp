// Chapter 14: why a `const T&` parameter of a coroutine is a lifetime trap.
//
// A coroutine keeps its parameters in its frame, but a reference parameter
// keeps only the reference: the object stays where the caller put it. A
// temporary argument dies at the end of the caller's full-expression, while
// the coroutine reads it later, when it resumes. Nothing in the type system
// says so; AddressSanitizer does, at run time. The death test below runs such
// a coroutine and expects ASan's report, so it is only compiled in a build
// with ASan (the asan preset); elsewhere it is skipped with a message. The
// by-value twin shows the safe signature, in every build.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <exception>
#include <string>

#if defined(__SANITIZE_ADDRESS__)
#define CH14_HAS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CH14_HAS_ASAN 1
#endif
#endif

namespace asio = boost::asio;

namespace {

constexpr std::size_t kTextBytes = 4096;  // past the small-string buffer: the text is on the heap

// The trap: `text` is a reference to the caller's string, which may be gone
// by the time this coroutine resumes after its first co_await.
[[maybe_unused]] asio::awaitable<std::size_t> count_spaces_later_by_reference(
    const std::string& text) {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  co_return static_cast<std::size_t>(std::count(text.begin(), text.end(), ' '));
}

// The safe twin: the string is moved into the frame, which owns it.
asio::awaitable<std::size_t> count_spaces_later(std::string text) {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  co_return static_cast<std::size_t>(std::count(text.begin(), text.end(), ' '));
}

// Spawns `coroutine` on a temporary string and runs the loop: the temporary
// is destroyed when the co_spawn statement ends, before the loop runs.
template <typename Coroutine>
std::size_t spawn_on_a_temporary(Coroutine coroutine) {
  asio::io_context ctx;
  std::size_t spaces = 0;
  asio::co_spawn(ctx, coroutine(std::string(kTextBytes, ' ')),
                 [&spaces](const std::exception_ptr& e, std::size_t n) {
                   if (e) std::rethrow_exception(e);
                   spaces = n;
                 });
  ctx.run();
  return spaces;
}

TEST(LifetimeTrap, ByValueParameterOwnsItsArgument) {
  const auto by_value = [](std::string text) { return count_spaces_later(std::move(text)); };
  EXPECT_EQ(spawn_on_a_temporary(by_value), kTextBytes);
}

TEST(LifetimeTrap, ConstReferenceParameterOutlivedByItsCoroutine) {
#if defined(CH14_HAS_ASAN)
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto by_reference = [](const std::string& text) {
    return count_spaces_later_by_reference(text);
  };
  // ASan names the bad read: the string's heap buffer was freed with the
  // temporary, before the coroutine read it.
  EXPECT_DEATH((void)spawn_on_a_temporary(by_reference),
               "AddressSanitizer: (heap-use-after-free|stack-use-after-scope)");
#else
  GTEST_SKIP() << "this test needs AddressSanitizer: it reads a string through a coroutine's "
                  "`const std::string&` parameter after the string has died, and only ASan "
                  "reports that reliably. Run it with the asan preset: cmake --preset asan "
                  "-B build/asan && cmake --build build/asan --target ch14_test_fix && "
                  "ctest --test-dir build/asan -R LifetimeTrap";
#endif
}

}  // namespace
