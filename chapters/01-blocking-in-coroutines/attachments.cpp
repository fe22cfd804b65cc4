// Chapter 01's provided building blocks: a blocking file read, an expensive
// hash, and sample attachments. Both the pitfall and the fix use them; the
// lesson is only about where they run, so each records the thread it ran on
// while the test holds a BlockingCallLog.
#include <unistd.h>

#include <atomic>
#include <boost/json/object.hpp>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "fingerprint_service.hpp"

namespace ch01 {

namespace {

// The calls recorded while a BlockingCallLog exists. Process-wide because the
// functions are free functions called from any thread (the loop, a pool);
// the mutex makes recording from several threads at once safe.
struct CallRecord {
  std::mutex mutex;
  bool recording = false;
  std::vector<BlockingCall> calls;
};

CallRecord& call_record() {
  static CallRecord record;
  return record;
}

void record_call(std::string_view function) {
  CallRecord& record = call_record();
  const std::lock_guard lock(record.mutex);
  if (record.recording) record.calls.push_back({function, std::this_thread::get_id()});
}

}  // namespace

BlockingCallLog::BlockingCallLog() {
  CallRecord& record = call_record();
  const std::lock_guard lock(record.mutex);
  if (record.recording) throw std::logic_error("ch01::BlockingCallLog: one exists already");
  record.recording = true;
  record.calls.clear();
}

BlockingCallLog::~BlockingCallLog() {
  CallRecord& record = call_record();
  const std::lock_guard lock(record.mutex);
  record.recording = false;
  record.calls.clear();
}

std::vector<BlockingCall> BlockingCallLog::calls() const {
  CallRecord& record = call_record();
  const std::lock_guard lock(record.mutex);
  return record.calls;
}

std::string read_attachment(const std::filesystem::path& file) {
  record_call("read_attachment()");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open attachment " + file.string());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return std::move(bytes).str();
}

std::string fingerprint(const std::string& bytes) {
  record_call("fingerprint()");
  // FNV-1a over the data, 16 rounds: a stand-in for real CPU-heavy work such
  // as hashing a password or resizing an image.
  std::uint64_t hash = 14695981039346656037ull;
  for (int round = 0; round < 16; ++round) {
    for (const unsigned char c : bytes) {
      hash = (hash ^ c) * 1099511628211ull;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

SampleAttachments::SampleAttachments(int count, std::size_t size) : count_(count) {
  static std::atomic<int> serial{0};
  directory_ = std::filesystem::temp_directory_path() /
               ("workbook-ch01-" + std::to_string(::getpid()) + "-" + std::to_string(serial++));
  std::filesystem::create_directories(directory_);
  for (int i = 0; i < count; ++i) {
    std::string content(size, '\0');
    for (std::size_t b = 0; b < size; ++b)
      content[b] = static_cast<char>((b * 31 + static_cast<std::size_t>(i) * 7) % 251);
    std::ofstream(directory_ / file_name(i), std::ios::binary) << content;
  }
}

SampleAttachments::~SampleAttachments() {
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::string SampleAttachments::file_name(int i) {
  return "attachment-" + std::to_string(i) + ".bin";
}

boost::asio::awaitable<void> SampleAttachments::add_notes(mockdb::DatabaseService& db) const {
  for (int i = 0; i < count_; ++i) {
    mockdb::Row note;
    note["title"] = "note " + std::to_string(i + 1);
    note["attachment"] = file_name(i);
    co_await db.create("notes", std::move(note));
  }
}

}  // namespace ch01
