// What the capture asks of the source database outside the replication stream: the checks
// made when a change stream is created, the catalog lookups (types, a table's columns and
// key), the publication, and dropping the slot and publication a change stream owns.
#pragma once

#include <string>

#include "cdc/change_record.h"
#include "cdc/pg_conn.h"
#include "cdc/pg_value.h"
#include "cdc/spec.h"
#include "common/status.h"

namespace millrace::cdc {

// Create-time checks, each failure naming what to fix: the connection, wal_level =
// logical, the REPLICATION attribute, each table (exists, readable, has a primary key or
// REPLICA IDENTITY FULL/USING INDEX), a given publication and slot (exist, pgoutput, not
// in use by another), a free replication slot. InvalidArgument (the spec) or
// FailedPrecondition (the database).
Status CheckSource(const ChangeStreamSpec& spec);

// FailedPrecondition unless the database's encoding is UTF8 (pgoutput sends text in the
// database's encoding; records are UTF-8 JSON).
Status CheckEncoding(PgConn& conn);

// Loads every type of the database (pg_type) into `types`.
Status LoadTypes(PgConn& conn, TypeMap* types);

// A table's live columns (in attribute order) and key columns; NotFound if it is gone.
Result<TableInfo> LoadTable(PgConn& conn, const std::string& qualified);
// The key columns of relation `relation_id` (by the primary key, else the flagged replica
// identity columns unless the identity is FULL), into table->key_columns.
Status LoadKeys(PgConn& conn, TableInfo* table);

// Creates the change stream's own publication for its tables, or makes its table list
// match the spec (a table added later). A given publication is left as it is.
Status EnsurePublication(PgConn& conn, const ChangeStreamSpec& spec);

// Drops the slot and the publication the change stream owns (never given ones). Ok if
// they are already gone.
Status DropSourceObjects(const ChangeStreamSpec& spec);

}  // namespace millrace::cdc
