#pragma once
// RAII for libpq: one owner per PGconn and PGresult, errors as PgError with the statement and the server's
// message, parameters held as text (binary for bytea) so a statement never has values spliced into it.
// Used by PostgresStore and the publish leases only.
#include <libpq-fe.h>

#include <charconv>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace footfall::aggregator::pg {

class PgError : public std::runtime_error {
 public:
  PgError(const std::string& what, bool connection_lost, std::string sqlstate = {})
      : std::runtime_error(what), connection_lost_(connection_lost), sqlstate_(std::move(sqlstate)) {}
  // The connection broke (server stopped, network): the caller reconnects before the next use.
  [[nodiscard]] bool connection_lost() const { return connection_lost_; }
  // The server's SQLSTATE ("23514": no partition for a row, "40P01": deadlock), "" when none.
  [[nodiscard]] const std::string& sqlstate() const { return sqlstate_; }
  // The statement can never succeed with these values (a data exception, class 22, or an integrity
  // violation, class 23, other than a missing partition): trying again would fail the same way.
  [[nodiscard]] bool refuses_data() const {
    return !connection_lost_ && (sqlstate_.starts_with("22") || (sqlstate_.starts_with("23") && sqlstate_ != "23514"));
  }

 private:
  bool connection_lost_;
  std::string sqlstate_;
};

struct ConnFinish {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ConnHandle = std::unique_ptr<PGconn, ConnFinish>;
using ResultHandle = std::unique_ptr<PGresult, ResultClear>;

// The server's message without its trailing newline.
inline std::string error_text(PGconn* c) {
  std::string m = c != nullptr ? PQerrorMessage(c) : "out of memory";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

// Connects (blocking, bounded by connect_timeout, 10 s unless the conninfo says otherwise). Throws PgError.
// Defaults the conninfo can override: TCP keepalives on both sides, so that a peer that vanished without
// closing (power, network cut) is noticed within about half a minute, not the system's two hours: the client
// stops waiting on it, and the server ends its session and the advisory locks it held (the site leases).
inline ConnHandle connect(const std::string& conninfo, const char* application_name) {
  const char* keys[] = {"connect_timeout", "application_name", "keepalives", "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "tcp_user_timeout", "options", "dbname", nullptr};
  const char* values[] = {"10", application_name, "1", "10", "5", "3", "30000",
                          "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3",
                          conninfo.c_str(), nullptr};
  // expand_dbname: the conninfo is expanded in dbname's place, last, so its own keys override the defaults.
  ConnHandle c(PQconnectdbParams(keys, values, 1));
  if (!c || PQstatus(c.get()) != CONNECTION_OK)
    throw PgError("postgresql: cannot connect: " + error_text(c.get()), true);
  // The server's notices ("relation ... already exists, skipping" of CREATE ... IF NOT EXISTS) are expected
  // chatter, not something for the program's standard error.
  PQsetNoticeProcessor(c.get(), [](void*, const char*) {}, nullptr);
  return c;
}

// Positional parameters $1..$n, kept as text; bytea as binary.
class Params {
 public:
  Params& add(std::string_view v) {
    // Text parameters travel NUL-terminated: one with a NUL inside would arrive cut short, silently.
    if (v.find('\0') != std::string_view::npos)
      throw PgError("postgresql: a text value holds a NUL character, which PostgreSQL text cannot store", false,
                    "22021");
    values_.emplace_back(v);
    binary_.push_back(0);
    return *this;
  }
  Params& add(const char* v) { return add(std::string_view(v)); }
  Params& add(std::int64_t v) { return add(std::string_view(std::to_string(v))); }
  Params& add(int v) { return add(static_cast<std::int64_t>(v)); }
  Params& add(bool v) { return add(std::string_view(v ? "t" : "f")); }
  Params& add(double v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back to the same double
    return add(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  }
  Params& add_bytes(std::span<const std::uint8_t> v) {
    values_.emplace_back(reinterpret_cast<const char*>(v.data()), v.size());
    binary_.push_back(1);
    return *this;
  }
  [[nodiscard]] std::size_t size() const { return values_.size(); }

  // The arrays libpq wants; valid until the next add.
  struct View {
    std::vector<const char*> values;
    std::vector<int> lengths;
    const int* formats;
  };
  [[nodiscard]] View view() const {
    View v{{}, {}, binary_.data()};
    for (const std::string& s : values_) {
      v.values.push_back(s.data());
      v.lengths.push_back(static_cast<int>(s.size()));
    }
    return v;
  }

 private:
  std::vector<std::string> values_;
  std::vector<int> binary_;
};

// Runs one statement; throws PgError unless it returned rows or completed.
inline ResultHandle exec(PGconn* c, std::string_view sql, const Params& params = {}) {
  const std::string text(sql);
  const Params::View v = params.view();
  ResultHandle r(PQexecParams(c, text.c_str(), static_cast<int>(params.size()), nullptr, v.values.data(),
                              v.lengths.data(), v.formats, 0));
  const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    const bool lost = PQstatus(c) != CONNECTION_OK;
    std::string m = r ? PQresultErrorMessage(r.get()) : error_text(c);
    while (!m.empty() && m.back() == '\n') m.pop_back();
    if (m.empty()) m = error_text(c);
    const char* state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    throw PgError("postgresql: " + m + " in: " + text.substr(0, 160), lost, state != nullptr ? state : "");
  }
  return r;
}

// Runs a script of several statements (migrations) with the simple protocol: no parameters.
inline void exec_script(PGconn* c, const char* sql) {
  ResultHandle r(PQexec(c, sql));
  const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    const char* state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    throw PgError("postgresql: " + error_text(c) + " in: " + std::string(sql).substr(0, 160),
                  PQstatus(c) != CONNECTION_OK, state != nullptr ? state : "");
  }
}

// Advisory lock keys (the two-int form): the first number marks them as footfall's.
inline constexpr int kLockClass = 0x46460000;           // 'F' 'F' 0 0
inline constexpr int kLockMigrate = 1;                   // schema migrations, one instance at a time
inline constexpr int kLockPartitions = 2;                // creating and dropping visit partitions
inline constexpr int kLockPrune = 3;                     // one instance prunes at a time
inline constexpr int kPublisherClass = kLockClass + 1;  // (class, backend pid): a live publisher
inline constexpr int kSiteLeaseClass = kLockClass + 2;  // (class, site key): the publisher of that site

// Rows an INSERT/UPDATE/DELETE touched.
inline std::int64_t affected(const ResultHandle& r) {
  const char* n = PQcmdTuples(r.get());
  return (n != nullptr && *n != '\0') ? std::stoll(n) : 0;
}

inline std::string_view text(const ResultHandle& r, int row, int col) {
  return {PQgetvalue(r.get(), row, col), static_cast<std::size_t>(PQgetlength(r.get(), row, col))};
}
inline std::int64_t integer(const ResultHandle& r, int row, int col) {
  std::int64_t v = 0;
  const std::string_view t = text(r, row, col);
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}
inline double real(const ResultHandle& r, int row, int col) { return std::stod(std::string(text(r, row, col))); }
inline bool boolean(const ResultHandle& r, int row, int col) { return text(r, row, col) == "t"; }
// A bytea column read in text form ("\x0a0b..."), decoded.
inline std::vector<std::uint8_t> bytes(const ResultHandle& r, int row, int col) {
  std::size_t n = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r.get(), row, col)), &n);
  if (raw == nullptr) throw PgError("postgresql: cannot decode a bytea value", false);
  std::vector<std::uint8_t> out(raw, raw + n);
  PQfreemem(raw);
  return out;
}

// BEGIN .. COMMIT; rolls back when destroyed uncommitted (an exception on the way). A rollback on a broken
// connection is skipped: the server has already ended the transaction.
class Transaction {
 public:
  explicit Transaction(PGconn* c) : c_(c) { exec(c_, "BEGIN"); }
  ~Transaction() {
    if (c_ != nullptr && PQstatus(c_) == CONNECTION_OK) ResultHandle(PQexec(c_, "ROLLBACK"));
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    exec(c_, "COMMIT");
    c_ = nullptr;
  }
  void rollback() {
    exec(c_, "ROLLBACK");
    c_ = nullptr;
  }

 private:
  PGconn* c_;
};

}  // namespace footfall::aggregator::pg
