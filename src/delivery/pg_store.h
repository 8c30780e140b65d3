// A dataset's PostgreSQL target (the seed's Redshift target): an ObjectStore whose data
// files (CSV, or binary COPY data for a table of the dataset's types: Accepts says which)
// are loaded into a table with COPY, whole (Put) or while built (StartPut), each in one
// transaction that also records the file's key in the table millrace_loads of the same
// database. A delivery redone after a crash puts the same key again and finds it there:
// the rows are loaded exactly once.
// The table is created from the dataset's columns if it does not exist. Other objects (the
// records that failed, as JSON lines) go to `fallback` (the dataset's local folder).
// docs/consumers.md, "PostgreSQL".
//
// Not thread-safe: one consumer's thread uses it.
#pragma once

#include <memory>
#include <string>

#include "cdc/pg_conn.h"
#include "formats/table_schema.h"
#include "objstore/object_store.h"

namespace millrace::delivery {

struct PgTarget {
  std::string dsn;
  std::string schema = "public";  // PostgreSQL's schema of the table
  std::string table;
  formats::TableSchema columns;  // the dataset's (may be empty: inferred later)
  bool csv_header = true;
  char csv_delimiter = ',';
};

// The PostgreSQL type of a dataset column (docs/consumers.md lists them).
std::string PgTypeOf(const formats::parquet::ParquetColumn& c);

std::unique_ptr<objstore::ObjectStore> NewPgStore(PgTarget target,
                                                  std::unique_ptr<objstore::ObjectStore> fallback);

}  // namespace millrace::delivery
