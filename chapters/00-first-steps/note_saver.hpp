// Chapter 00 — first steps: a program that saves notes through an event loop.
//
// A small command-line tool saves the notes a user typed. Its main() owns a
// boost::asio::io_context (the event loop) and a database, and calls
// save_notes(), which must hand one write per note to the loop and run the
// loop until every write is done. The pitfall (chapters/) and the fix
// (solutions/) define save_notes() in note_saver.cpp; write_note() is
// provided (notes.cpp); this header is their shared interface.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "mockdb/database.hpp"

namespace ch00 {

/// The table the notes live in.
inline constexpr const char* kNotesTable = "notes";

/// What a user typed: a note not saved yet.
struct Note {
  std::string title;  ///< The note's title.
  std::string body;   ///< The note's text.
};

/// Writes one note (fields "title" and "body" in table "notes") and returns
/// the id the database gave it. A coroutine: calling it only builds the
/// write; it runs when a coroutine co_awaits it, or when co_spawn hands it to
/// an event loop and that loop runs. Database errors are thrown
/// (mockdb::DatabaseError, a boost::system::system_error). Provided (notes.cpp).
boost::asio::awaitable<mockdb::Id> write_note(mockdb::DatabaseService& db, Note note);

/// Saves every note with write_note(), using `ctx` as the event loop, and
/// returns the ids the database gave them, in the order of `notes`. When it
/// returns, every note is in the database (so `notes` is only borrowed). `ctx` is not running when
/// it is called (no thread is inside ctx.run()), and it may have been run before, by an earlier
/// call. If a write fails, save_notes() lets the other writes finish, then throws the first
/// failure.
std::vector<mockdb::Id> save_notes(boost::asio::io_context& ctx, mockdb::DatabaseService& db,
                                   const std::vector<Note>& notes);

}  // namespace ch00
