#include "catalog/catalog.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

#include "common/crypto.h"

namespace millrace::catalog {
namespace {

// SQLite's result code as a Status: a full disk (or quota) is NoSpace, which every API
// answers 503 (retryable), a busy database Unavailable; the rest is an I/O error.
Status SqliteError(int rc, const std::string& msg) {
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return Status::NoSpace("catalog: " + msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable("catalog: " + msg);
    case SQLITE_IOERR:
      if (errno == ENOSPC || errno == EDQUOT) return Status::NoSpace("catalog: " + msg);
      return Status::IoError("catalog: " + msg);
    default:
      return Status::IoError("catalog: " + msg);
  }
}

// A prepared statement, finalized on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
    if (rc_ != SQLITE_OK) error_ = sqlite3_errmsg(db);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status status() const { return rc_ == SQLITE_OK ? Status::Ok() : SqliteError(rc_, error_); }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  template <typename T>
  Stmt& Bind(int i, const std::optional<T>& v) {
    if (v) return Bind(i, static_cast<int64_t>(*v));
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // Steps once: true if a row is available; errors go to *st.
  bool Step(Status* st) {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) *st = SqliteError(rc, sqlite3_errmsg(sqlite3_db_handle(stmt_)));
    return false;
  }
  Status Run() {
    Status st;
    while (Step(&st)) {
    }
    return st;
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(stmt_, col))
             : std::string();
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
  std::string error_;
};

std::string JoinStreams(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out.push_back('\n');
    out += s;
  }
  return out;
}

std::vector<std::string> SplitStreams(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS streams (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
  created_ms INTEGER NOT NULL, status_changed_ms INTEGER NOT NULL,
  retention_hours INTEGER NOT NULL, mode TEXT NOT NULL, encryption_type TEXT NOT NULL,
  key_id TEXT NOT NULL, mode_changed_ms INTEGER NOT NULL, next_shard_index INTEGER NOT NULL,
  pending TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shards (
  stream_id INTEGER NOT NULL, shard_index INTEGER NOT NULL, parent INTEGER,
  adjacent_parent INTEGER, start_hash TEXT NOT NULL, end_hash TEXT NOT NULL,
  created_ms INTEGER NOT NULL, closed_ms INTEGER, starting_counter INTEGER NOT NULL,
  ending_counter INTEGER, counter_floor INTEGER NOT NULL,
  PRIMARY KEY (stream_id, shard_index));
CREATE TABLE IF NOT EXISTS tags (
  stream_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (stream_id, key));
CREATE TABLE IF NOT EXISTS access_keys (
  access_key_id TEXT PRIMARY KEY, secret TEXT NOT NULL, scope TEXT NOT NULL,
  streams TEXT NOT NULL, created_ms INTEGER NOT NULL, revoked_ms INTEGER,
  description TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
  kind TEXT NOT NULL, name TEXT NOT NULL, spec TEXT NOT NULL, version INTEGER NOT NULL,
  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, PRIMARY KEY (kind, name));
CREATE TABLE IF NOT EXISTS checkpoints (
  consumer TEXT NOT NULL, stream_id INTEGER NOT NULL, shard_index INTEGER NOT NULL,
  next_counter INTEGER NOT NULL, pending TEXT NOT NULL,
  PRIMARY KEY (consumer, stream_id, shard_index));
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', 1), ('next_stream_id', 1);
)sql";

}  // namespace

// The 32-byte key that seals secrets, from `path`; created (0600, fsynced, published with
// link(2) so that two processes opening at once agree on one key) when absent.
static Result<std::string> LoadOrCreateSecretKey(const std::string& path) {
  auto read = [&]() -> Result<std::string> {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return Status::FromErrno(errno, "open " + path);
    std::string key(33, '\0');
    ssize_t n = ::read(fd, key.data(), key.size());
    ::close(fd);
    if (n != 32)
      return Status::FailedPrecondition("catalog: " + path +
                                        " is not a 32-byte key file; restore it from a backup");
    key.resize(32);
    return key;
  };
  if (::access(path.c_str(), F_OK) == 0) return read();
  std::string key(32, '\0');
  crypto::RandomBytes(key.data(), key.size());
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::FromErrno(errno, "create " + tmp);
  bool ok = ::write(fd, key.data(), key.size()) == 32 && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return Status::FromErrno(err, "write " + tmp);
  }
  int rc = ::link(tmp.c_str(), path.c_str());
  err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && err != EEXIST) return Status::FromErrno(err, "create " + path);
  std::string dir = path.substr(0, path.find_last_of('/') + 1);
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return read();  // ours, or the one another process published first
}

Result<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path) {
  size_t slash = path.find_last_of('/');
  auto secret_key = LoadOrCreateSecretKey(
      (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) + "secret.key");
  if (!secret_key.ok()) return secret_key.status();
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::IoError("catalog: cannot open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<Catalog> c(new Catalog(db));
  c->secret_key_ = std::move(*secret_key);
  std::lock_guard<std::mutex> l(c->mu_);
  MILLRACE_RETURN_IF_ERROR(c->Exec("PRAGMA journal_mode=WAL"));
  MILLRACE_RETURN_IF_ERROR(c->Exec("PRAGMA synchronous=FULL"));
  MILLRACE_RETURN_IF_ERROR(c->Migrate());
  MILLRACE_RETURN_IF_ERROR(c->SealPlainSecrets());
  return c;
}

Catalog::~Catalog() { sqlite3_close(db_); }

Status Catalog::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return SqliteError(rc, msg);
  }
  return Status::Ok();
}

Status Catalog::Migrate() { return Exec(kSchema); }

// Runs `body` in a transaction: committed if it returns Ok, rolled back otherwise.
#define CATALOG_TXN(body)                              \
  do {                                                 \
    MILLRACE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE")); \
    Status _txn = [&]() -> Status { body }();          \
    if (!_txn.ok()) {                                  \
      (void)Exec("ROLLBACK");                          \
      return _txn;                                     \
    }                                                  \
    return Exec("COMMIT");                             \
  } while (0)

// Secrets written in plain text by a version before sealing: sealed in one transaction.
Status Catalog::SealPlainSecrets() {
  std::vector<std::pair<std::string, std::string>> plain;
  {
    Stmt s(db_, "SELECT access_key_id, secret FROM access_keys WHERE secret NOT LIKE 'v1:%'");
    MILLRACE_RETURN_IF_ERROR(s.status());
    Status st;
    while (s.Step(&st)) plain.emplace_back(s.Text(0), s.Text(1));
    MILLRACE_RETURN_IF_ERROR(st);
  }
  if (plain.empty()) return Status::Ok();
  CATALOG_TXN({
    for (const auto& [id, secret] : plain) {
      Stmt u(db_, "UPDATE access_keys SET secret = ? WHERE access_key_id = ?");
      MILLRACE_RETURN_IF_ERROR(u.status());
      u.Bind(1, crypto::Seal(secret_key_, secret, id)).Bind(2, id);
      MILLRACE_RETURN_IF_ERROR(u.Run());
    }
    return Status::Ok();
  });
}

Result<std::vector<StreamRow>> Catalog::ListStreams() {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "SELECT id, name, status, created_ms, status_changed_ms, retention_hours, mode, "
         "encryption_type, key_id, mode_changed_ms, next_shard_index, pending FROM streams "
         "ORDER BY name");
  MILLRACE_RETURN_IF_ERROR(s.status());
  std::vector<StreamRow> out;
  Status st;
  while (s.Step(&st)) {
    StreamRow r;
    r.id = s.Int(0);
    r.name = s.Text(1);
    r.status = s.Text(2);
    r.created_ms = s.Int(3);
    r.status_changed_ms = s.Int(4);
    r.retention_hours = static_cast<int>(s.Int(5));
    r.mode = s.Text(6);
    r.encryption_type = s.Text(7);
    r.key_id = s.Text(8);
    r.mode_changed_ms = s.Int(9);
    r.next_shard_index = static_cast<uint32_t>(s.Int(10));
    r.pending = s.Text(11);
    out.push_back(std::move(r));
  }
  if (!st.ok()) return st;
  return out;
}

Result<uint64_t> Catalog::NextStreamId() {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t id = 0;
  auto body = [&]() -> Status {
    Stmt s(db_, "SELECT value FROM meta WHERE key = 'next_stream_id'");
    MILLRACE_RETURN_IF_ERROR(s.status());
    Status st;
    if (!s.Step(&st)) return st.ok() ? Status::Internal("catalog: no next_stream_id") : st;
    id = static_cast<uint64_t>(s.Int(0));
    Stmt u(db_, "UPDATE meta SET value = value + 1 WHERE key = 'next_stream_id'");
    MILLRACE_RETURN_IF_ERROR(u.status());
    return u.Run();
  };
  MILLRACE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status st = body();
  if (!st.ok()) {
    (void)Exec("ROLLBACK");
    return st;
  }
  MILLRACE_RETURN_IF_ERROR(Exec("COMMIT"));
  return id;
}

Status Catalog::UpsertShardLocked(const ShardRow& r) {
  Stmt s(db_,
         "INSERT OR REPLACE INTO shards (stream_id, shard_index, parent, adjacent_parent, "
         "start_hash, end_hash, created_ms, closed_ms, starting_counter, ending_counter, "
         "counter_floor) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, static_cast<int64_t>(r.stream_id))
      .Bind(2, static_cast<int64_t>(r.shard_index))
      .Bind(3, r.parent)
      .Bind(4, r.adjacent_parent)
      .Bind(5, r.start_hash)
      .Bind(6, r.end_hash)
      .Bind(7, r.created_ms)
      .Bind(8, r.closed_ms)
      .Bind(9, static_cast<int64_t>(r.starting_counter))
      .Bind(10, r.ending_counter)
      .Bind(11, static_cast<int64_t>(r.counter_floor));
  return s.Run();
}

Status Catalog::UpdateStreamLocked(const StreamRow& r) {
  Stmt s(db_,
         "INSERT OR REPLACE INTO streams (id, name, status, created_ms, status_changed_ms, "
         "retention_hours, mode, encryption_type, key_id, mode_changed_ms, next_shard_index, "
         "pending) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, static_cast<int64_t>(r.id))
      .Bind(2, r.name)
      .Bind(3, r.status)
      .Bind(4, r.created_ms)
      .Bind(5, r.status_changed_ms)
      .Bind(6, static_cast<int64_t>(r.retention_hours))
      .Bind(7, r.mode)
      .Bind(8, r.encryption_type)
      .Bind(9, r.key_id)
      .Bind(10, r.mode_changed_ms)
      .Bind(11, static_cast<int64_t>(r.next_shard_index))
      .Bind(12, r.pending);
  return s.Run();
}

Status Catalog::CreateStream(const StreamRow& st, const std::vector<ShardRow>& shards) {
  std::lock_guard<std::mutex> l(mu_);
  CATALOG_TXN({
    MILLRACE_RETURN_IF_ERROR(UpdateStreamLocked(st));
    for (const ShardRow& r : shards) MILLRACE_RETURN_IF_ERROR(UpsertShardLocked(r));
    return Status::Ok();
  });
}

Status Catalog::UpdateStream(const StreamRow& st) {
  std::lock_guard<std::mutex> l(mu_);
  return UpdateStreamLocked(st);
}

Status Catalog::UpdateStreamAndShards(const StreamRow& st, const std::vector<ShardRow>& shards) {
  std::lock_guard<std::mutex> l(mu_);
  CATALOG_TXN({
    MILLRACE_RETURN_IF_ERROR(UpdateStreamLocked(st));
    for (const ShardRow& r : shards) MILLRACE_RETURN_IF_ERROR(UpsertShardLocked(r));
    return Status::Ok();
  });
}

Status Catalog::DeleteStream(uint64_t stream_id) {
  std::lock_guard<std::mutex> l(mu_);
  CATALOG_TXN({
    for (const char* sql :
         {"DELETE FROM streams WHERE id = ?", "DELETE FROM shards WHERE stream_id = ?",
          "DELETE FROM tags WHERE stream_id = ?"}) {
      Stmt s(db_, sql);
      MILLRACE_RETURN_IF_ERROR(s.status());
      s.Bind(1, static_cast<int64_t>(stream_id));
      MILLRACE_RETURN_IF_ERROR(s.Run());
    }
    return Status::Ok();
  });
}

Result<std::vector<ShardRow>> Catalog::ListShards(uint64_t stream_id) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "SELECT shard_index, parent, adjacent_parent, start_hash, end_hash, created_ms, "
         "closed_ms, starting_counter, ending_counter, counter_floor FROM shards WHERE "
         "stream_id = ? ORDER BY shard_index");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, static_cast<int64_t>(stream_id));
  std::vector<ShardRow> out;
  Status st;
  while (s.Step(&st)) {
    ShardRow r;
    r.stream_id = stream_id;
    r.shard_index = static_cast<uint32_t>(s.Int(0));
    if (!s.IsNull(1)) r.parent = static_cast<uint32_t>(s.Int(1));
    if (!s.IsNull(2)) r.adjacent_parent = static_cast<uint32_t>(s.Int(2));
    r.start_hash = s.Text(3);
    r.end_hash = s.Text(4);
    r.created_ms = s.Int(5);
    if (!s.IsNull(6)) r.closed_ms = s.Int(6);
    r.starting_counter = static_cast<uint64_t>(s.Int(7));
    if (!s.IsNull(8)) r.ending_counter = static_cast<uint64_t>(s.Int(8));
    r.counter_floor = static_cast<uint64_t>(s.Int(9));
    out.push_back(std::move(r));
  }
  if (!st.ok()) return st;
  return out;
}

Status Catalog::RaiseCounterFloor(uint64_t stream_id, uint32_t shard_index, uint64_t floor) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "UPDATE shards SET counter_floor = MAX(counter_floor, ?) WHERE stream_id = ? AND "
         "shard_index = ?");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, static_cast<int64_t>(floor))
      .Bind(2, static_cast<int64_t>(stream_id))
      .Bind(3, static_cast<int64_t>(shard_index));
  return s.Run();
}

Result<std::vector<TagRow>> Catalog::ListTags(uint64_t stream_id) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, "SELECT key, value FROM tags WHERE stream_id = ? ORDER BY key");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, static_cast<int64_t>(stream_id));
  std::vector<TagRow> out;
  Status st;
  while (s.Step(&st)) out.push_back({s.Text(0), s.Text(1)});
  if (!st.ok()) return st;
  return out;
}

Status Catalog::PutTags(uint64_t stream_id, const std::vector<TagRow>& tags) {
  std::lock_guard<std::mutex> l(mu_);
  CATALOG_TXN({
    for (const TagRow& t : tags) {
      Stmt s(db_, "INSERT OR REPLACE INTO tags (stream_id, key, value) VALUES (?,?,?)");
      MILLRACE_RETURN_IF_ERROR(s.status());
      s.Bind(1, static_cast<int64_t>(stream_id)).Bind(2, t.key).Bind(3, t.value);
      MILLRACE_RETURN_IF_ERROR(s.Run());
    }
    return Status::Ok();
  });
}

Status Catalog::RemoveTags(uint64_t stream_id, const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> l(mu_);
  CATALOG_TXN({
    for (const std::string& k : keys) {
      Stmt s(db_, "DELETE FROM tags WHERE stream_id = ? AND key = ?");
      MILLRACE_RETURN_IF_ERROR(s.status());
      s.Bind(1, static_cast<int64_t>(stream_id)).Bind(2, k);
      MILLRACE_RETURN_IF_ERROR(s.Run());
    }
    return Status::Ok();
  });
}

std::string Catalog::SealSecret(std::string_view plaintext, std::string_view aad) const {
  return crypto::Seal(secret_key_, plaintext, aad);
}

bool Catalog::UnsealSecret(std::string_view sealed, std::string_view aad,
                           std::string* plaintext) const {
  return crypto::Open(secret_key_, sealed, aad, plaintext);
}

const char* DocKindName(DocKind kind) {
  switch (kind) {
    case DocKind::kDataset:
      return "dataset";
    case DocKind::kConsumer:
      return "consumer";
    case DocKind::kTransformation:
      return "transformation";
    case DocKind::kChangeStream:
      return "change stream";
    case DocKind::kChangeStreamState:
      return "change stream state";
    case DocKind::kBucket:
      return "bucket";
    case DocKind::kBucketLifecycle:
      return "bucket lifecycle";
    case DocKind::kAccount:
      return "account";
    case DocKind::kIamUser:
      return "user";
    case DocKind::kIamRole:
      return "role";
    case DocKind::kIamPolicy:
      return "policy";
    case DocKind::kBucketPolicy:
      return "bucket policy";
    case DocKind::kStreamPolicy:
      return "stream policy";
    case DocKind::kStreamConsumer:
      return "stream consumer";
    case DocKind::kStreamSettings:
      return "stream settings";
    case DocKind::kKinesisAccount:
      return "kinesis account";
    case DocKind::kKmsKey:
      return "kms key";
    case DocKind::kKmsAlias:
      return "kms alias";
    case DocKind::kDeliveryStream:
      return "delivery stream";
  }
  return "document";
}

Status Catalog::CreateDoc(DocKind kind, const DocRow& row) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "INSERT INTO documents (kind, name, spec, version, created_ms, updated_ms) "
         "VALUES (?,?,?,?,?,?)");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, std::string(DocKindName(kind)))
      .Bind(2, row.name)
      .Bind(3, row.spec)
      .Bind(4, row.version)
      .Bind(5, row.created_ms)
      .Bind(6, row.updated_ms);
  Status st = s.Run();
  if (!st.ok() && st.message().find("UNIQUE") != std::string::npos)
    return Status::AlreadyExists(std::string(DocKindName(kind)) + " " + row.name +
                                 " exists already");
  return st;
}

Status Catalog::UpdateDoc(DocKind kind, const std::string& name, const std::string& spec,
                          int64_t now_ms, int64_t* new_version) {
  std::lock_guard<std::mutex> l(mu_);
  CATALOG_TXN({
    Stmt u(db_,
           "UPDATE documents SET spec = ?, version = version + 1, updated_ms = ? "
           "WHERE kind = ? AND name = ?");
    MILLRACE_RETURN_IF_ERROR(u.status());
    u.Bind(1, spec).Bind(2, now_ms).Bind(3, std::string(DocKindName(kind))).Bind(4, name);
    MILLRACE_RETURN_IF_ERROR(u.Run());
    if (sqlite3_changes(db_) == 0)
      return Status::NotFound(std::string("no ") + DocKindName(kind) + " named " + name);
    Stmt q(db_, "SELECT version FROM documents WHERE kind = ? AND name = ?");
    MILLRACE_RETURN_IF_ERROR(q.status());
    q.Bind(1, std::string(DocKindName(kind))).Bind(2, name);
    Status st;
    if (q.Step(&st) && new_version) *new_version = q.Int(0);
    return st;
  });
}

Status Catalog::PutDoc(DocKind kind, const std::string& name, const std::string& spec,
                       int64_t now_ms) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "INSERT INTO documents (kind, name, spec, version, created_ms, updated_ms) "
         "VALUES (?,?,?,1,?,?) ON CONFLICT (kind, name) DO UPDATE SET spec = excluded.spec, "
         "version = version + 1, updated_ms = excluded.updated_ms");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, std::string(DocKindName(kind)))
      .Bind(2, name)
      .Bind(3, spec)
      .Bind(4, now_ms)
      .Bind(5, now_ms);
  return s.Run();
}

Status Catalog::DeleteDoc(DocKind kind, const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, "DELETE FROM documents WHERE kind = ? AND name = ?");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, std::string(DocKindName(kind))).Bind(2, name);
  MILLRACE_RETURN_IF_ERROR(s.Run());
  if (sqlite3_changes(db_) == 0)
    return Status::NotFound(std::string("no ") + DocKindName(kind) + " named " + name);
  return Status::Ok();
}

static DocRow ReadDoc(const Stmt& s) {
  DocRow r;
  r.name = s.Text(0);
  r.spec = s.Text(1);
  r.version = s.Int(2);
  r.created_ms = s.Int(3);
  r.updated_ms = s.Int(4);
  return r;
}

Result<std::optional<DocRow>> Catalog::GetDoc(DocKind kind, const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "SELECT name, spec, version, created_ms, updated_ms FROM documents "
         "WHERE kind = ? AND name = ?");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, std::string(DocKindName(kind))).Bind(2, name);
  Status st;
  std::optional<DocRow> out;
  if (s.Step(&st)) out = ReadDoc(s);
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<DocRow>> Catalog::ListDocs(DocKind kind) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "SELECT name, spec, version, created_ms, updated_ms FROM documents WHERE kind = ? "
         "ORDER BY name");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, std::string(DocKindName(kind)));
  std::vector<DocRow> out;
  Status st;
  while (s.Step(&st)) out.push_back(ReadDoc(s));
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<CheckpointRow>> Catalog::ListCheckpoints(const std::string& consumer) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "SELECT stream_id, shard_index, next_counter, pending FROM checkpoints "
         "WHERE consumer = ? ORDER BY stream_id, shard_index");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, consumer);
  std::vector<CheckpointRow> out;
  Status st;
  while (s.Step(&st)) {
    CheckpointRow r;
    r.consumer = consumer;
    r.stream_id = static_cast<uint64_t>(s.Int(0));
    r.shard_index = static_cast<uint32_t>(s.Int(1));
    r.next_counter = static_cast<uint64_t>(s.Int(2));
    r.pending = s.Text(3);
    out.push_back(std::move(r));
  }
  if (!st.ok()) return st;
  return out;
}

Status Catalog::PutCheckpointLocked(const CheckpointRow& r) {
  Stmt s(db_,
         "INSERT OR REPLACE INTO checkpoints (consumer, stream_id, shard_index, next_counter, "
         "pending) VALUES (?,?,?,?,?)");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, r.consumer)
      .Bind(2, static_cast<int64_t>(r.stream_id))
      .Bind(3, static_cast<int64_t>(r.shard_index))
      .Bind(4, static_cast<int64_t>(r.next_counter))
      .Bind(5, r.pending);
  return s.Run();
}

Status Catalog::PutCheckpoint(const CheckpointRow& r) {
  std::lock_guard<std::mutex> l(mu_);
  return PutCheckpointLocked(r);
}

Status Catalog::PutCheckpoints(const std::vector<CheckpointRow>& rows) {
  std::lock_guard<std::mutex> l(mu_);
  CATALOG_TXN({
    for (const CheckpointRow& r : rows) MILLRACE_RETURN_IF_ERROR(PutCheckpointLocked(r));
    return Status::Ok();
  });
}

Status Catalog::DeleteCheckpoints(const std::string& consumer) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, "DELETE FROM checkpoints WHERE consumer = ?");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, consumer);
  return s.Run();
}

Status Catalog::CreateKey(const KeyRow& k) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "INSERT INTO access_keys (access_key_id, secret, scope, streams, created_ms, "
         "revoked_ms, description) VALUES (?,?,?,?,?,?,?)");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, k.access_key_id)
      .Bind(2, crypto::Seal(secret_key_, k.secret, k.access_key_id))
      .Bind(3, k.scope)
      .Bind(4, JoinStreams(k.streams))
      .Bind(5, k.created_ms)
      .Bind(6, k.revoked_ms)
      .Bind(7, k.description);
  Status st = s.Run();
  if (!st.ok() && st.message().find("UNIQUE") != std::string::npos)
    return Status::AlreadyExists("access key " + k.access_key_id + " exists already");
  return st;
}

static Result<KeyRow> ReadKey(const Stmt& s, const std::string& secret_key) {
  KeyRow k;
  k.access_key_id = s.Text(0);
  if (!crypto::Open(secret_key, s.Text(1), k.access_key_id, &k.secret))
    return Status::FailedPrecondition("catalog: the secret of access key " + k.access_key_id +
                                      " does not open with secret.key (a key file from another "
                                      "data directory?)");
  k.scope = s.Text(2);
  k.streams = SplitStreams(s.Text(3));
  k.created_ms = s.Int(4);
  if (!s.IsNull(5)) k.revoked_ms = s.Int(5);
  k.description = s.Text(6);
  return k;
}

Result<std::vector<KeyRow>> Catalog::ListKeys() {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "SELECT access_key_id, secret, scope, streams, created_ms, revoked_ms, description "
         "FROM access_keys ORDER BY created_ms, access_key_id");
  MILLRACE_RETURN_IF_ERROR(s.status());
  std::vector<KeyRow> out;
  Status st;
  while (s.Step(&st)) {
    auto k = ReadKey(s, secret_key_);
    if (!k.ok()) return k.status();
    out.push_back(std::move(*k));
  }
  if (!st.ok()) return st;
  return out;
}

Result<std::optional<KeyRow>> Catalog::FindKey(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "SELECT access_key_id, secret, scope, streams, created_ms, revoked_ms, description "
         "FROM access_keys WHERE access_key_id = ?");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, id);
  Status st;
  std::optional<KeyRow> out;
  if (s.Step(&st)) {
    auto k = ReadKey(s, secret_key_);
    if (!k.ok()) return k.status();
    out = std::move(*k);
  }
  if (!st.ok()) return st;
  return out;
}

Status Catalog::RevokeKey(const std::string& id, int64_t now_ms) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "UPDATE access_keys SET revoked_ms = ? WHERE access_key_id = ? AND revoked_ms IS NULL");
  MILLRACE_RETURN_IF_ERROR(s.status());
  s.Bind(1, now_ms).Bind(2, id);
  MILLRACE_RETURN_IF_ERROR(s.Run());
  if (sqlite3_changes(db_) == 0) return Status::NotFound("no active access key " + id);
  return Status::Ok();
}

Result<int64_t> Catalog::DataVersion() {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, "PRAGMA data_version");
  MILLRACE_RETURN_IF_ERROR(s.status());
  Status st;
  if (!s.Step(&st)) return st.ok() ? Status::Internal("catalog: no data_version") : st;
  return s.Int(0);
}

}  // namespace millrace::catalog
