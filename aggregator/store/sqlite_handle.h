#pragma once
// RAII for the SQLite C API: one owner per sqlite3* and sqlite3_stmt*, errors as SqliteError with the
// statement and SQLite's message. Used by SqliteStore only.
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace footfall::aggregator::sqlite {

class SqliteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbHandle = std::unique_ptr<sqlite3, DbClose>;

inline DbHandle open_database(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  DbHandle db(raw);  // owns the handle even when open failed
  if (rc != SQLITE_OK)
    throw SqliteError("sqlite: cannot open " + path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

inline void exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    throw SqliteError(std::string("sqlite: ") + text + " in: " + std::string(sql).substr(0, 120));
  }
}

// A prepared statement, reset and unbound before each use (reuse() does both).
class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, std::string_view sql) : db_(db) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw, nullptr) !=
        SQLITE_OK)
      throw SqliteError(std::string("sqlite: ") + sqlite3_errmsg(db) + " preparing: " + std::string(sql));
    stmt_.reset(raw);
  }

  Statement& reuse() {
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
    return *this;
  }
  Statement& bind(int i, std::int64_t v) { return check(sqlite3_bind_int64(stmt_.get(), i, v)); }
  Statement& bind(int i, double v) { return check(sqlite3_bind_double(stmt_.get(), i, v)); }
  Statement& bind(int i, std::string_view v) {
    return check(sqlite3_bind_text(stmt_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Statement& bind_static(int i, std::string_view v) {  // v outlives the step: no copy
    return check(sqlite3_bind_text(stmt_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
  }
  Statement& bind_blob(int i, std::span<const std::uint8_t> v) {
    return check(sqlite3_bind_blob(stmt_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
  }

  // true: a row is ready; false: done.
  bool step() {
    const int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw SqliteError(std::string("sqlite: ") + sqlite3_errmsg(db_) + " in: " + sqlite3_sql(stmt_.get()));
  }
  void run() {
    (void)step();
    sqlite3_reset(stmt_.get());
  }

  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
  double real(int col) const { return sqlite3_column_double(stmt_.get(), col); }
  std::string_view text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), col));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), col))) : std::string_view{};
  }
  std::span<const std::uint8_t> blob(int col) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_.get(), col));
    return p ? std::span<const std::uint8_t>(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), col)))
             : std::span<const std::uint8_t>{};
  }
  bool is_null(int col) const { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }

 private:
  Statement& check(int rc) {
    if (rc != SQLITE_OK) throw SqliteError(std::string("sqlite: bind: ") + sqlite3_errmsg(db_));
    return *this;
  }

  sqlite3* db_ = nullptr;
  std::unique_ptr<sqlite3_stmt, StmtFinalize> stmt_;
};

// BEGIN IMMEDIATE .. COMMIT; rolls back when destroyed uncommitted (an exception on the way).
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { exec(db_, "BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (db_ != nullptr) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    exec(db_, "COMMIT");
    db_ = nullptr;
  }
  void rollback() {
    exec(db_, "ROLLBACK");
    db_ = nullptr;
  }

 private:
  sqlite3* db_;
};

}  // namespace footfall::aggregator::sqlite
