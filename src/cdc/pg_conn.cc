#include "cdc/pg_conn.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cstdlib>
#include <functional>

namespace millrace::cdc {

namespace {

constexpr const char* kSessionOptions =
    "-c datestyle=ISO -c timezone=UTC -c bytea_output=hex -c extra_float_digits=3";

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string QuoteIdent(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string QuoteLiteral(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

Result<std::string> RedactDsn(const std::string& dsn) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  if (!opts) {
    std::string msg = err ? Trim(err) : "out of memory";
    PQfreemem(err);
    return Status::InvalidArgument("source.dsn: " + msg);
  }
  std::string out;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (!o->val || std::string_view(o->keyword) == "password") continue;
    if (!out.empty()) out.push_back(' ');
    out.append(o->keyword).append("=").append(QuoteLiteral(o->val));
  }
  PQconninfoFree(opts);
  return out;
}

Result<std::unique_ptr<PgConn>> PgConn::Connect(const std::string& dsn, bool replication) {
  // The connection string first, so that what follows overrides it.
  const char* keys[] = {"dbname",           "replication",     "options",
                        "application_name", "connect_timeout", nullptr};
  const char* values[] = {
      dsn.c_str(), replication ? "database" : nullptr, kSessionOptions, "millrace", "10", nullptr};
  if (!replication) {  // libpq stops at the first null value: leave "replication" out
    keys[1] = "options";
    values[1] = kSessionOptions;
    keys[2] = "application_name";
    values[2] = "millrace";
    keys[3] = "connect_timeout";
    values[3] = "10";
    keys[4] = nullptr;
    values[4] = nullptr;
  }
  pg_conn* c = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!c) return Status::Unavailable("PostgreSQL: out of memory");
  std::unique_ptr<PgConn> conn(new PgConn(c));
  if (PQstatus(c) != CONNECTION_OK)
    return Status::Unavailable("cannot connect to PostgreSQL: " + conn->ErrorMessage());
  return conn;
}

PgConn::~PgConn() { PQfinish(conn_); }

std::string PgConn::ErrorMessage() const { return Trim(PQerrorMessage(conn_)); }

Result<PgRows> PgConn::Query(const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* r = params.empty() ? PQexec(conn_, sql.c_str())
                               : PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()),
                                              nullptr, values.data(), nullptr, nullptr, 0);
  std::unique_ptr<PGresult, void (*)(PGresult*)> guard(r, PQclear);
  if (!r || (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)) {
    std::string msg = r ? Trim(PQresultErrorMessage(r)) : ErrorMessage();
    if (PQstatus(conn_) != CONNECTION_OK) return Status::Unavailable("PostgreSQL: " + msg);
    return Status::FailedPrecondition(msg);
  }
  PgRows out;
  int nf = PQnfields(r), nt = PQntuples(r);
  for (int f = 0; f < nf; ++f) out.columns.push_back(PQfname(r, f));
  out.rows.reserve(nt);
  for (int t = 0; t < nt; ++t) {
    std::vector<std::optional<std::string>> row;
    for (int f = 0; f < nf; ++f) {
      if (PQgetisnull(r, t, f))
        row.push_back(std::nullopt);
      else
        row.push_back(std::string(PQgetvalue(r, t, f), PQgetlength(r, t, f)));
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

Status PgConn::Exec(const std::string& sql) {
  auto r = Query(sql);
  return r.ok() ? Status::Ok() : r.status();
}

Status PgConn::CopyOut(const std::string& sql, const std::function<bool(std::string_view)>& row) {
  PGresult* r = PQexec(conn_, sql.c_str());
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  std::string msg = r ? Trim(PQresultErrorMessage(r)) : ErrorMessage();
  PQclear(r);
  if (st != PGRES_COPY_OUT) return Status::FailedPrecondition(msg);
  bool cancelled = false;
  for (;;) {
    char* buf = nullptr;
    int n = PQgetCopyData(conn_, &buf, 0);
    if (n == -1) break;  // done
    if (n == -2) return Status::Unavailable("PostgreSQL: COPY failed: " + ErrorMessage());
    std::string_view line(buf, static_cast<size_t>(n));
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    bool go_on = cancelled || row(line);
    PQfreemem(buf);
    if (!go_on && !cancelled) {
      cancelled = true;
      if (PGcancel* c = PQgetCancel(conn_)) {
        char err[256];
        PQcancel(c, err, sizeof err);
        PQfreeCancel(c);
      }
    }
  }
  Status result = Status::Ok();
  while (PGresult* end = PQgetResult(conn_)) {
    if (PQresultStatus(end) != PGRES_COMMAND_OK && !cancelled)
      result = Status::FailedPrecondition(Trim(PQresultErrorMessage(end)));
    PQclear(end);
  }
  if (cancelled) return Status::Internal("COPY stopped");
  return result;
}

Result<uint64_t> PgConn::CopyIn(const std::string& sql, std::string_view data) {
  MILLRACE_RETURN_IF_ERROR(StartCopyIn(sql));
  Status put = PutCopyData(data);
  if (!put.ok()) {
    (void)EndCopyIn("sending failed");
    return put;
  }
  return EndCopyIn();
}

Status PgConn::StartCopyIn(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  std::string msg = r ? Trim(PQresultErrorMessage(r)) : ErrorMessage();
  PQclear(r);
  if (st != PGRES_COPY_IN) {
    if (PQstatus(conn_) != CONNECTION_OK) return Status::Unavailable("PostgreSQL: " + msg);
    return Status::FailedPrecondition(msg);
  }
  return Status::Ok();
}

Status PgConn::PutCopyData(std::string_view piece) {
  constexpr size_t kChunk = 1 << 20;
  for (size_t off = 0; off < piece.size(); off += kChunk) {
    const size_t n = std::min(kChunk, piece.size() - off);
    if (PQputCopyData(conn_, piece.data() + off, static_cast<int>(n)) != 1)
      return Status::Unavailable("PostgreSQL: COPY failed: " + ErrorMessage());
  }
  return Status::Ok();
}

Result<uint64_t> PgConn::EndCopyIn(const char* abandon_reason) {
  if (PQputCopyEnd(conn_, abandon_reason) != 1)
    return Status::Unavailable("PostgreSQL: COPY failed: " + ErrorMessage());
  Status result = Status::Ok();
  uint64_t rows = 0;
  while (PGresult* end = PQgetResult(conn_)) {
    if (PQresultStatus(end) != PGRES_COMMAND_OK) {
      result = PQstatus(conn_) != CONNECTION_OK
                   ? Status::Unavailable("PostgreSQL: " + Trim(PQresultErrorMessage(end)))
                   : Status::FailedPrecondition(Trim(PQresultErrorMessage(end)));
    } else {
      rows = std::strtoull(PQcmdTuples(end), nullptr, 10);
    }
    PQclear(end);
  }
  if (!result.ok()) return result;
  return rows;
}

Status PgConn::StartCopyBoth(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  std::string msg = r ? Trim(PQresultErrorMessage(r)) : ErrorMessage();
  PQclear(r);
  if (st != PGRES_COPY_BOTH) {
    if (PQstatus(conn_) != CONNECTION_OK) return Status::Unavailable("PostgreSQL: " + msg);
    return Status::FailedPrecondition(msg);
  }
  return Status::Ok();
}

Result<bool> PgConn::ReadCopyData(int timeout_ms, std::string* out) {
  for (int round = 0; round < 2; ++round) {
    char* buf = nullptr;
    int n = PQgetCopyData(conn_, &buf, /*async=*/1);
    if (n > 0) {
      out->assign(buf, static_cast<size_t>(n));
      PQfreemem(buf);
      return true;
    }
    if (n == -1) {
      PGresult* r = PQgetResult(conn_);
      std::string msg = r ? Trim(PQresultErrorMessage(r)) : ErrorMessage();
      PQclear(r);
      return Status::Unavailable("PostgreSQL ended the replication stream" +
                                 (msg.empty() ? std::string() : ": " + msg));
    }
    if (n == -2) return Status::Unavailable("PostgreSQL: " + ErrorMessage());
    if (round == 1) break;
    pollfd p{PQsocket(conn_), POLLIN, 0};
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc < 0 && errno != EINTR) return Status::FromErrno(errno, "poll");
    if (rc <= 0) return false;
    if (!PQconsumeInput(conn_)) return Status::Unavailable("PostgreSQL: " + ErrorMessage());
  }
  return false;
}

Status PgConn::SendCopyData(std::string_view data) {
  if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1 || PQflush(conn_) != 0)
    return Status::Unavailable("PostgreSQL: " + ErrorMessage());
  return Status::Ok();
}

}  // namespace millrace::cdc
