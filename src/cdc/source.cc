#include "cdc/source.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace millrace::cdc {

namespace {

std::string TableList(const ChangeStreamSpec& spec) {
  std::string out;
  for (const auto& t : spec.tables) {
    auto [schema, name] = SplitTable(t);
    if (!out.empty()) out += ", ";
    out += QuoteIdent(schema) + "." + QuoteIdent(name);
  }
  return out;
}

std::string Value(const PgRows& r, size_t row, size_t col) {
  return r.rows.size() > row && r.rows[row].size() > col && r.rows[row][col] ? *r.rows[row][col]
                                                                             : std::string();
}

}  // namespace

Status CheckEncoding(PgConn& conn) {
  auto enc = conn.Query(
      "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()");
  if (!enc.ok()) return enc.status();
  const std::string encoding = Value(*enc, 0, 0);
  if (encoding != "UTF8")
    return Status::FailedPrecondition(
        "the database's encoding is " + encoding +
        "; change records are JSON (UTF-8) and pgoutput sends text in the database's own "
        "encoding, so change streams capture UTF8 databases only");
  return Status::Ok();
}

Status LoadTypes(PgConn& conn, TypeMap* types) {
  auto rows = conn.Query(
      "SELECT oid, typname, typcategory, typelem, typdelim, "
      "CASE WHEN typtype = 'd' THEN typbasetype ELSE 0 END FROM pg_type");
  if (!rows.ok()) return rows.status();
  for (size_t i = 0; i < rows->rows.size(); ++i) {
    TypeInfo t;
    t.oid = static_cast<uint32_t>(std::stoul(Value(*rows, i, 0)));
    t.name = Value(*rows, i, 1);
    std::string cat = Value(*rows, i, 2), delim = Value(*rows, i, 4);
    t.category = cat.empty() ? 'U' : cat[0];
    t.elem = static_cast<uint32_t>(std::stoul(Value(*rows, i, 3)));
    t.delim = delim.empty() ? ',' : delim[0];
    t.base = static_cast<uint32_t>(std::stoul(Value(*rows, i, 5)));
    types->Add(std::move(t));
  }
  return Status::Ok();
}

Status LoadKeys(PgConn& conn, TableInfo* table) {
  auto rows = conn.Query(
      "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
      "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::oid AND i.indisprimary "
      "ORDER BY array_position(i.indkey::int2[], a.attnum)",
      {std::to_string(table->relation_id)});
  if (!rows.ok()) return rows.status();
  table->key_columns.clear();
  for (const auto& row : rows->rows) {
    for (size_t c = 0; c < table->columns.size(); ++c)
      if (row[0] && table->columns[c].name == *row[0]) table->key_columns.push_back(c);
  }
  if (table->key_columns.empty() && table->replica_identity != 'f') {
    for (size_t c = 0; c < table->columns.size(); ++c)
      if (table->columns[c].key) table->key_columns.push_back(c);
  }
  return Status::Ok();
}

Result<TableInfo> LoadTable(PgConn& conn, const std::string& qualified) {
  auto [schema, name] = SplitTable(qualified);
  auto rel = conn.Query(
      "SELECT c.oid, c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
      {schema, name});
  if (!rel.ok()) return rel.status();
  if (rel->rows.empty()) return Status::NotFound("table " + qualified + " does not exist");
  TableInfo t;
  t.relation_id = static_cast<uint32_t>(std::stoul(Value(*rel, 0, 0)));
  t.schema = schema;
  t.name = name;
  std::string ident = Value(*rel, 0, 1);
  t.replica_identity = ident.empty() ? 'd' : ident[0];
  auto cols = conn.Query(
      "SELECT a.attname, a.atttypid, a.atttypmod, "
      "COALESCE(a.attnum = ANY(i.indkey), false) FROM pg_attribute a "
      "LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisreplident "
      "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
      {std::to_string(t.relation_id)});
  if (!cols.ok()) return cols.status();
  for (size_t i = 0; i < cols->rows.size(); ++i) {
    RelationColumn c;
    c.name = Value(*cols, i, 0);
    c.type_oid = static_cast<uint32_t>(std::stoul(Value(*cols, i, 1)));
    c.type_mod = std::stoi(Value(*cols, i, 2));
    c.key = Value(*cols, i, 3) == "t";
    t.columns.push_back(std::move(c));
  }
  MILLRACE_RETURN_IF_ERROR(LoadKeys(conn, &t));
  return t;
}

Status CheckSource(const ChangeStreamSpec& spec) {
  auto redacted = RedactDsn(spec.dsn);
  if (!redacted.ok()) return redacted.status();
  auto conn = PgConn::Connect(spec.dsn, false);
  if (!conn.ok())
    return Status::FailedPrecondition(conn.status().message() +
                                      " (check source.dsn: host, port, dbname, user, password)");
  PgConn& c = **conn;
  auto facts = c.Query(
      "SELECT current_setting('wal_level'), r.rolreplication OR r.rolsuper, current_user, "
      "current_setting('max_replication_slots')::int - "
      "(SELECT count(*) FROM pg_replication_slots) FROM pg_roles r WHERE r.rolname = current_user");
  if (!facts.ok()) return facts.status();
  if (Value(*facts, 0, 0) != "logical")
    return Status::FailedPrecondition(
        "the database's wal_level is '" + Value(*facts, 0, 0) +
        "'; logical replication needs wal_level = logical (set it in postgresql.conf, or ALTER "
        "SYSTEM SET wal_level = logical, and restart PostgreSQL)");
  const std::string user = Value(*facts, 0, 2);
  MILLRACE_RETURN_IF_ERROR(CheckEncoding(c));
  if (Value(*facts, 0, 1) != "t")
    return Status::FailedPrecondition("the role " + user +
                                      " may not start replication; give it the attribute: ALTER "
                                      "ROLE " +
                                      QuoteIdent(user) + " REPLICATION");
  for (const auto& q : spec.tables) {
    auto t = LoadTable(c, q);
    if (!t.ok()) {
      if (t.status().code() == Code::kNotFound)
        return Status::FailedPrecondition(t.status().message() + " (source.tables)");
      return t.status();
    }
    auto [schema, name] = SplitTable(q);
    auto priv = c.Query("SELECT has_table_privilege($1, 'SELECT')",
                        {QuoteIdent(schema) + "." + QuoteIdent(name)});
    if (!priv.ok()) return priv.status();
    if (Value(*priv, 0, 0) != "t")
      return Status::FailedPrecondition("the role " + user + " may not read table " + q +
                                        ": GRANT SELECT ON " + q + " TO " + QuoteIdent(user));
    const bool has_key = !t->key_columns.empty();
    if (!has_key && t->replica_identity != 'f')
      return Status::FailedPrecondition(
          "table " + q +
          " has no primary key, so its updates and deletes cannot say which row changed; add "
          "a primary key, or capture whole rows with: ALTER TABLE " +
          q + " REPLICA IDENTITY FULL");
  }
  if (!spec.publication.empty()) {
    auto pub = c.Query("SELECT 1 FROM pg_publication WHERE pubname = $1", {spec.publication});
    if (!pub.ok()) return pub.status();
    if (pub->rows.empty())
      return Status::FailedPrecondition("publication " + spec.publication +
                                        " does not exist (source.publication); create it with "
                                        "CREATE PUBLICATION, or leave it out and Millrace "
                                        "creates its own");
  }
  auto slot = c.Query(
      "SELECT plugin, active, database = current_database() FROM pg_replication_slots "
      "WHERE slot_name = $1",
      {spec.SlotName()});
  if (!slot.ok()) return slot.status();
  if (!spec.slot.empty()) {
    if (slot->rows.empty())
      return Status::FailedPrecondition("replication slot " + spec.slot +
                                        " does not exist (source.slot); leave it out and "
                                        "Millrace creates its own");
    if (Value(*slot, 0, 0) != "pgoutput" || Value(*slot, 0, 2) != "t")
      return Status::FailedPrecondition("replication slot " + spec.slot +
                                        " is not a pgoutput slot of this database");
    if (Value(*slot, 0, 1) == "t")
      return Status::FailedPrecondition("replication slot " + spec.slot +
                                        " is in use by another client");
  } else if (!slot->rows.empty()) {
    return Status::FailedPrecondition(
        "replication slot " + spec.SlotName() +
        " already exists (left by an earlier change stream of this name?); drop it with "
        "SELECT pg_drop_replication_slot('" +
        spec.SlotName() + "') or name another change stream");
  } else if (std::stoll("0" + Value(*facts, 0, 3)) <= 0) {
    return Status::FailedPrecondition(
        "the database has no free replication slot (max_replication_slots); raise it or drop "
        "an unused slot");
  }
  if (spec.OwnsPublication()) {
    // Creating the publication needs ownership of the tables: try it in a transaction
    // that is rolled back, so that the error is PostgreSQL's own.
    MILLRACE_RETURN_IF_ERROR(c.Exec("BEGIN"));
    Status st = c.Exec("CREATE PUBLICATION " + QuoteIdent(spec.PublicationName() + "_check") +
                       " FOR TABLE " + TableList(spec));
    (void)c.Exec("ROLLBACK");
    if (!st.ok())
      return Status::FailedPrecondition("cannot create the publication for " + TableList(spec) +
                                        ": " + st.message() +
                                        " (the role must own the tables, or give "
                                        "source.publication)");
  }
  return Status::Ok();
}

Status EnsurePublication(PgConn& conn, const ChangeStreamSpec& spec) {
  if (!spec.OwnsPublication()) return Status::Ok();
  const std::string pub = spec.PublicationName();
  auto exists = conn.Query("SELECT 1 FROM pg_publication WHERE pubname = $1", {pub});
  if (!exists.ok()) return exists.status();
  // TRUNCATE is not published: a change record describes one row (docs/change-streams.md).
  if (exists->rows.empty())
    return conn.Exec("CREATE PUBLICATION " + QuoteIdent(pub) + " FOR TABLE " + TableList(spec) +
                     " WITH (publish = 'insert, update, delete')");
  auto tables = conn.Query(
      "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = $1", {pub});
  if (!tables.ok()) return tables.status();
  std::vector<std::string> have, want = spec.tables;
  for (const auto& r : tables->rows) have.push_back(r[0].value_or(""));
  std::sort(have.begin(), have.end());
  std::sort(want.begin(), want.end());
  if (have == want) return Status::Ok();
  return conn.Exec("ALTER PUBLICATION " + QuoteIdent(pub) + " SET TABLE " + TableList(spec));
}

Status DropSourceObjects(const ChangeStreamSpec& spec) {
  if (!spec.OwnsSlot() && !spec.OwnsPublication()) return Status::Ok();
  auto conn = PgConn::Connect(spec.dsn, false);
  if (!conn.ok()) return conn.status();
  if (spec.OwnsSlot()) {
    // The walsender of a capture that just stopped may take a moment to release the slot.
    Status st = Status::Ok();
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto r = (*conn)->Query(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
          "WHERE slot_name = $1",
          {spec.SlotName()});
      st = r.ok() ? Status::Ok() : r.status();
      if (st.ok() || st.message().find("is active") == std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    MILLRACE_RETURN_IF_ERROR(st);
  }
  if (spec.OwnsPublication())
    MILLRACE_RETURN_IF_ERROR(
        (*conn)->Exec("DROP PUBLICATION IF EXISTS " + QuoteIdent(spec.PublicationName())));
  return Status::Ok();
}

}  // namespace millrace::cdc
