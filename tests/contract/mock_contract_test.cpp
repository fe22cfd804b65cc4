// The database contract (database_contract.hpp) on the in-memory MockDatabase: the backend
// every chapter's tests use, held to the same suite as SQLite and PostgreSQL.
#include "database_contract.hpp"
#include "mockdb/mock_database.hpp"

namespace {

struct Mock {
  static std::unique_ptr<mockdb::DatabaseService> open(boost::asio::io_context& /*ctx*/,
                                                       std::size_t max_connections) {
    return std::make_unique<mockdb::MockDatabase>(
        mockdb::MockConfig{.max_connections = max_connections, .trace = false});
  }

  /// The mock's next operation hangs until it is cancelled (a fault of its own).
  class Blocker {
   public:
    explicit Blocker(mockdb::MockDatabase& db) : db_(&db) { db.hang_next(1); }
    ~Blocker() { db_->clear_faults(); }
    Blocker(const Blocker&) = delete;
    Blocker& operator=(const Blocker&) = delete;

   private:
    mockdb::MockDatabase* db_;
  };

  static Blocker block_writes(mockdb::DatabaseService& db, const std::string& /*table*/) {
    return Blocker(dynamic_cast<mockdb::MockDatabase&>(db));
  }
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Mock, DatabaseContract, ::Mock);
}  // namespace contract
