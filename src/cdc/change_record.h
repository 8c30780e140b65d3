// The change record: one JSON object per row change, in the shape Kinesis Data Streams for
// DynamoDB writes (so that tools made for those records read ours), plus a "source" object
// with PostgreSQL's own metadata. Byte by byte: docs/format/change-record.md.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/pg_value.h"
#include "cdc/pgoutput.h"

namespace millrace::cdc {

// A captured table as the records need it (from pgoutput's Relation message and the
// source's catalog).
struct TableInfo {
  uint32_t relation_id = 0;
  std::string schema, name;
  char replica_identity = 'd';
  std::vector<RelationColumn> columns;
  // Indices into `columns` of the row's key: the primary key, else the replica identity
  // index; empty for a table captured by REPLICA IDENTITY FULL without either.
  std::vector<size_t> key_columns;
  std::string QualifiedName() const { return schema + "." + name; }
};

// Where a record stands in the capture's total order: snapshot rows (phase 0, at the
// slot's consistent point) before changes (phase 1, by commit LSN), then by `seq` (the
// row's place in the snapshot, or the change's place in its transaction). A record is
// written at most once per position: restarts skip what the log already holds.
struct Position {
  Lsn lsn = 0;
  int phase = 0;
  uint64_t seq = 0;
  auto operator<=>(const Position&) const = default;
};

enum class ChangeKind { kInsert, kModify, kRemove };

struct ChangeContext {
  std::string_view change_stream;
  std::string_view region;
  std::string_view database;
  ImageFormat format = ImageFormat::kPlain;
  const TypeMap* types = nullptr;
};

struct ChangeEvent {
  ChangeKind kind = ChangeKind::kInsert;
  Position position;
  uint32_t xid = 0;            // 0 for snapshot rows
  int64_t commit_time_us = 0;  // Unix microseconds (snapshot rows: when it was taken)
  char old_kind = 0;           // 'O' whole old row, 'K' key columns only, 0 none
  const std::vector<TupleValue>* old_tuple = nullptr;
  const std::vector<TupleValue>* new_tuple = nullptr;
};

struct BuiltRecord {
  std::string partition_key;
  std::string data;
};

// Builds the record of one change. Partition key: "<schema>.<table>/<key values joined
// by '/'>" (the table alone when it has no key; "<schema>.<table>/#<sha256 hex>" of that
// when it would pass Kinesis's 256 characters).
void BuildChangeRecord(const ChangeContext& ctx, const TableInfo& table, const ChangeEvent& ev,
                       BuiltRecord* out);

// The position and change stream of a record's data, if it is a change record.
struct RecordOrigin {
  std::string change_stream;
  Position position;
};
std::optional<RecordOrigin> ParseRecordOrigin(std::string_view data);

}  // namespace millrace::cdc
