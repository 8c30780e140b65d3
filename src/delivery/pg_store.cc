#include "delivery/pg_store.h"

#include <map>

#include "common/logging.h"
#include "formats/pg_copy.h"

namespace millrace::delivery {
namespace {

constexpr const char* kLoads = "millrace_loads";

class PgStore final : public objstore::ObjectStore {
 public:
  PgStore(PgTarget t, std::unique_ptr<objstore::ObjectStore> fallback)
      : t_(std::move(t)), fallback_(std::move(fallback)) {}

  Status Put(const std::string& key, std::string_view data,
             const std::string& content_type) override {
    if (!Loads(content_type)) return fallback_->Put(key, data, content_type);
    Status st = Load(key, data, content_type);
    if (!st.ok()) conn_.reset();  // a broken or aborted session is not reused
    return st;
  }

  // A file loaded while it is built (CSV, or binary COPY data): its COPY starts with the
  // first piece (a CSV file's holds the header), in the same transaction as the key's row,
  // committed at the end.
  Result<std::unique_ptr<objstore::ObjectStream>> StartPut(
      const std::string& key, const std::string& content_type) override {
    if (!Loads(content_type)) return fallback_->StartPut(key, content_type);
    return std::unique_ptr<objstore::ObjectStream>(
        std::make_unique<Stream>(this, key, content_type));
  }

  // Binary COPY data is taken when the table's columns have the types it is written for
  // (a table made here has them; one made by hand may not: its text is cast by a CSV COPY
  // instead). Decided once per connection.
  bool Accepts(const std::string& content_type) override {
    if (content_type != formats::kPgCopyContentType) return fallback_->Accepts(content_type);
    if (!t_.columns.HasColumns()) return false;
    if (!Prepare("").ok()) {
      conn_.reset();
      return false;
    }
    if (!binary_checked_) {
      binary_checked_ = true;
      binary_ok_ = ColumnsTakeBinary();
    }
    return binary_ok_;
  }

  Result<std::optional<std::string>> Get(const std::string& key) override {
    return fallback_->Get(key);
  }
  Result<std::vector<std::string>> List(const std::string& prefix) override {
    return fallback_->List(prefix);
  }
  Status Delete(const std::string& key) override { return fallback_->Delete(key); }
  std::string Describe() const override {
    auto redacted = cdc::RedactDsn(t_.dsn);
    return "postgresql:" + Qualified() + " (" + (redacted.ok() ? *redacted : "?") + ")";
  }

 private:
  std::string Qualified() const {
    return cdc::QuoteIdent(t_.schema) + "." + cdc::QuoteIdent(t_.table);
  }

  // The first line of a CSV file with a header: the column names.
  std::vector<std::string> HeaderOf(std::string_view data) const {
    std::vector<std::string> out;
    size_t nl = data.find('\n');
    std::string_view line = data.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string field;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (quoted) {
        if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else if (c == '"') {
          quoted = false;
        } else {
          field.push_back(c);
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == t_.csv_delimiter) {
        out.push_back(std::move(field));
        field.clear();
      } else {
        field.push_back(c);
      }
    }
    out.push_back(std::move(field));
    return out;
  }

  Status Prepare(std::string_view data) {
    if (conn_) return Status::Ok();
    auto c = cdc::PgConn::Connect(t_.dsn, /*replication=*/false);
    if (!c.ok()) return c.status();
    conn_ = std::move(*c);
    binary_checked_ = false;  // the table may have changed since the last connection
    MILLRACE_RETURN_IF_ERROR(conn_->Exec(std::string("CREATE TABLE IF NOT EXISTS ") +
                                         cdc::QuoteIdent(t_.schema) + "." + kLoads +
                                         " (key text PRIMARY KEY, loaded_at timestamptz NOT "
                                         "NULL DEFAULT now(), rows bigint NOT NULL)"));
    // The table, from the dataset's columns (or, while they are still to be inferred, the
    // file's header as text columns).
    std::string cols;
    if (t_.columns.HasColumns()) {
      for (const auto& tc : t_.columns.columns) {
        if (!cols.empty()) cols += ", ";
        cols += cdc::QuoteIdent(tc.column.name) + " " + PgTypeOf(tc.column);
        if (!tc.column.nullable) cols += " NOT NULL";
      }
    } else if (t_.csv_header) {
      for (const auto& name : HeaderOf(data)) {
        if (!cols.empty()) cols += ", ";
        cols += cdc::QuoteIdent(name) + " text";
      }
    } else {
      return Status::FailedPrecondition(
          "the table " + Qualified() +
          " cannot be made: the dataset has no columns yet and its CSV files no header");
    }
    return conn_->Exec("CREATE TABLE IF NOT EXISTS " + Qualified() + " (" + cols + ")");
  }

  class Stream final : public objstore::ObjectStream {
   public:
    Stream(PgStore* store, std::string key, std::string content_type)
        : store_(store), key_(std::move(key)), content_type_(std::move(content_type)) {}
    ~Stream() override {
      if (state_ == kCopying || state_ == kSkipping) store_->conn_.reset();  // rolled back
    }
    Status Append(std::string_view piece) override {
      Status st = Put(piece);
      if (!st.ok()) Fail();
      return st;
    }
    Status Commit() override {
      Status st = Status::Ok();
      if (state_ == kCopying) {
        auto rows = store_->conn_->EndCopyIn();
        st = rows.ok() ? store_->RecordLoad(key_, *rows) : rows.status();
      } else if (state_ != kSkipping) {
        st = Status::FailedPrecondition("nothing was sent for " + key_);
      }
      if (st.ok()) st = store_->conn_->Exec("COMMIT");
      if (!st.ok()) Fail();
      state_ = kDone;
      return st;
    }

   private:
    Status Put(std::string_view piece) {
      if (state_ == kCopying) return store_->conn_->PutCopyData(piece);
      if (state_ == kSkipping) return Status::Ok();
      if (state_ != kFresh) return Status::FailedPrecondition("the load of " + key_ + " failed");
      auto loaded = store_->Begin(key_, piece);
      if (!loaded.ok()) return loaded.status();
      if (*loaded) {
        state_ = kSkipping;
        return Status::Ok();
      }
      MILLRACE_RETURN_IF_ERROR(store_->conn_->StartCopyIn(store_->CopySql(piece, content_type_)));
      state_ = kCopying;
      return store_->conn_->PutCopyData(piece);
    }
    void Fail() {
      store_->conn_.reset();  // a broken or aborted session is not reused
      state_ = kFailed;
    }

    enum State { kFresh, kCopying, kSkipping, kDone, kFailed };
    PgStore* const store_;
    const std::string key_;
    const std::string content_type_;
    State state_ = kFresh;
  };

  // Connects if need be and opens the load's transaction; true if `key` was loaded before
  // (a redo after a crash: the transaction is then only committed).
  Result<bool> Begin(const std::string& key, std::string_view data) {
    MILLRACE_RETURN_IF_ERROR(Prepare(data));
    MILLRACE_RETURN_IF_ERROR(conn_->Exec("BEGIN"));
    auto done = conn_->Query(
        "SELECT 1 FROM " + cdc::QuoteIdent(t_.schema) + "." + kLoads + " WHERE key = $1", {key});
    if (!done.ok()) return done.status();
    if (!done->rows.empty()) {
      LOG(kInfo) << "delivery: " << key << " is in " << Qualified() << " already";
      return true;
    }
    return false;
  }

  Status RecordLoad(const std::string& key, uint64_t rows) {
    auto ins = conn_->Query(
        "INSERT INTO " + cdc::QuoteIdent(t_.schema) + "." + kLoads + " (key, rows) VALUES ($1, $2)",
        {key, std::to_string(rows)});
    return ins.status();
  }

  Status Load(const std::string& key, std::string_view data, const std::string& content_type) {
    auto loaded = Begin(key, data);
    if (!loaded.ok()) return loaded.status();
    if (*loaded) return conn_->Exec("COMMIT");  // loaded before a crash: nothing to do
    auto rows = conn_->CopyIn(CopySql(data, content_type), data);
    if (!rows.ok()) {
      (void)conn_->Exec("ROLLBACK");
      return rows.status();
    }
    Status ins = RecordLoad(key, *rows);
    if (!ins.ok()) {
      (void)conn_->Exec("ROLLBACK");
      return ins;
    }
    return conn_->Exec("COMMIT");
  }

  static bool Loads(const std::string& content_type) {
    return content_type == "text/csv" || content_type == formats::kPgCopyContentType;
  }

  // Whether each of the dataset's columns is in the table with the type binary COPY data
  // is written for.
  bool ColumnsTakeBinary() {
    auto rows = conn_->Query(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
        {Qualified()});
    if (!rows.ok()) return false;
    std::map<std::string, std::string> types;
    for (const auto& r : rows->rows)
      if (r.size() == 2 && r[0] && r[1]) types[*r[0]] = *r[1];
    for (const auto& tc : t_.columns.columns) {
      auto it = types.find(tc.column.name);
      if (it == types.end() || it->second != formats::PgCopyTypeName(tc.column)) {
        LOG(kInfo) << "delivery: " << Qualified() << " loads CSV text: its column "
                   << tc.column.name << " is "
                   << (it == types.end() ? std::string("missing") : it->second) << ", not "
                   << formats::PgCopyTypeName(tc.column);
        return false;
      }
    }
    return true;
  }

  // The COPY of a file that starts with `data` (a CSV file's header names the columns;
  // binary data has the dataset's columns).
  std::string CopySql(std::string_view data, const std::string& content_type) const {
    if (content_type == formats::kPgCopyContentType) {
      std::string list;
      for (const auto& tc : t_.columns.columns) {
        if (!list.empty()) list += ", ";
        list += cdc::QuoteIdent(tc.column.name);
      }
      return "COPY " + Qualified() + " (" + list + ") FROM STDIN WITH (FORMAT binary)";
    }
    std::string copy = "COPY " + Qualified();
    if (t_.csv_header) {
      std::string list;
      for (const auto& name : HeaderOf(data)) {
        if (!list.empty()) list += ", ";
        list += cdc::QuoteIdent(name);
      }
      copy += " (" + list + ")";
    }
    copy += " FROM STDIN WITH (FORMAT csv, HEADER " +
            std::string(t_.csv_header ? "true" : "false") + ", DELIMITER " +
            cdc::QuoteLiteral(std::string(1, t_.csv_delimiter)) + ")";
    return copy;
  }

  const PgTarget t_;
  std::unique_ptr<objstore::ObjectStore> fallback_;
  std::unique_ptr<cdc::PgConn> conn_;
  bool binary_checked_ = false, binary_ok_ = false;
};

}  // namespace

std::string PgTypeOf(const formats::parquet::ParquetColumn& c) {
  using formats::parquet::ColumnType;
  switch (c.type) {
    case ColumnType::kBoolean:
      return "boolean";
    case ColumnType::kInt32:
      return "integer";
    case ColumnType::kInt64:
      return "bigint";
    case ColumnType::kFloat:
      return "real";
    case ColumnType::kDouble:
      return "double precision";
    case ColumnType::kString:
    case ColumnType::kBinary:  // base64 text in CSV files
      return "text";
    case ColumnType::kDate:
      return "date";
    case ColumnType::kTimestampMillis:
    case ColumnType::kTimestampMicros:
      return "timestamptz";
    case ColumnType::kDecimal:
      return "numeric(" + std::to_string(c.precision) + "," + std::to_string(c.scale) + ")";
    case ColumnType::kJson:
    case ColumnType::kList:
    case ColumnType::kStruct:
      return "jsonb";
  }
  return "text";
}

std::unique_ptr<objstore::ObjectStore> NewPgStore(PgTarget target,
                                                  std::unique_ptr<objstore::ObjectStore> fallback) {
  return std::make_unique<PgStore>(std::move(target), std::move(fallback));
}

}  // namespace millrace::delivery
