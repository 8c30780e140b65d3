// A libpq connection to the source database, as the capture uses it: plain SQL (catalog
// lookups, the snapshot's COPY) or a logical replication connection (replication=database:
// CREATE_REPLICATION_SLOT, START_REPLICATION and the CopyBoth stream). Every session sets
// what the change record's conversions assume (pg_value.h): DateStyle=ISO, TimeZone=UTC,
// bytea_output=hex, extra_float_digits=3.
//
// Not thread-safe: one thread uses a connection at a time. Errors are Unavailable (could
// not connect, connection lost) or FailedPrecondition (the server refused a statement),
// with PostgreSQL's message.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct pg_conn;

namespace millrace::cdc {

// A query's rows, as text (nullopt: NULL).
struct PgRows {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// Quotes an identifier ("weird ""name""") and a literal ('it''s') for SQL.
std::string QuoteIdent(std::string_view s);
std::string QuoteLiteral(std::string_view s);

// The connection string without its password (for answers and logs). InvalidArgument if
// libpq cannot parse it.
Result<std::string> RedactDsn(const std::string& dsn);

class PgConn {
 public:
  static Result<std::unique_ptr<PgConn>> Connect(const std::string& dsn, bool replication);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs one statement (with $1.. parameters as text); its rows.
  Result<PgRows> Query(const std::string& sql, const std::vector<std::string>& params = {});
  Status Exec(const std::string& sql);

  // COPY ... TO STDOUT: calls `row` with each line (without its newline) until the end or
  // until `row` returns false (the copy is then cancelled: an error).
  Status CopyOut(const std::string& sql, const std::function<bool(std::string_view)>& row);
  // COPY ... FROM STDIN: sends `data` (in the COPY's format) and ends the copy; the
  // server's error, if it refused a row, else the rows copied.
  Result<uint64_t> CopyIn(const std::string& sql, std::string_view data);
  // The same in pieces: the server reads each piece while the next is made. A piece blocks
  // while the socket is full (the server is behind). EndCopyIn(nullptr) ends it (the rows
  // copied, or the server's error); EndCopyIn("why") abandons it (the COPY fails).
  Status StartCopyIn(const std::string& sql);
  Status PutCopyData(std::string_view piece);
  Result<uint64_t> EndCopyIn(const char* abandon_reason = nullptr);

  // The replication stream, after START_REPLICATION put the connection in CopyBoth mode.
  Status StartCopyBoth(const std::string& sql);
  // The next CopyData message into *out; false if none arrived within timeout_ms (0: only
  // what is already buffered or readable without waiting).
  Result<bool> ReadCopyData(int timeout_ms, std::string* out);
  Status SendCopyData(std::string_view data);

  std::string ErrorMessage() const;  // libpq's, trimmed

 private:
  explicit PgConn(pg_conn* c) : conn_(c) {}
  pg_conn* conn_;
};

}  // namespace millrace::cdc
