// The messages of PostgreSQL's logical replication protocol as the `pgoutput` plugin sends
// them (protocol version 1, PostgreSQL 10+), and the replication stream around them:
// XLogData ('w') and primary keepalive ('k') inside CopyData, and the standby status
// update ('r') we send back. Pure decoding and encoding, no I/O: the capture reads the
// bytes with libpq (pg_source.h). Reference: PostgreSQL's "Logical Replication Message
// Formats" and "Streaming Replication Protocol" chapters; docs/format/change-record.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace millrace::cdc {

using Lsn = uint64_t;
std::string LsnString(Lsn lsn);  // "16/B374D848", as PostgreSQL prints it
std::optional<Lsn> ParseLsn(std::string_view s);

// Microseconds from 2000-01-01 (PostgreSQL's epoch) to the Unix epoch's microseconds.
constexpr int64_t kPgEpochOffsetMicros = 946684800LL * 1000000;

// One column's value in a tuple.
struct TupleValue {
  enum Kind : char { kNull = 'n', kUnchangedToast = 'u', kText = 't', kBinary = 'b' };
  Kind kind = kNull;
  std::string_view data;  // kText / kBinary: into the message's bytes
};

struct RelationColumn {
  bool key = false;  // part of the replica identity
  std::string name;
  uint32_t type_oid = 0;
  int32_t type_mod = -1;
};

// One decoded message. The string_views point into the bytes given to Decode.
struct PgOutputMessage {
  enum Type : char {
    kBegin = 'B',
    kCommit = 'C',
    kOrigin = 'O',
    kRelation = 'R',
    kType = 'Y',
    kInsert = 'I',
    kUpdate = 'U',
    kDelete = 'D',
    kTruncate = 'T',
    kMessage = 'M',
  };
  Type type = kBegin;
  // Begin: final_lsn (the commit's), commit_time, xid. Commit: commit_lsn, end_lsn,
  // commit_time.
  Lsn final_lsn = 0, commit_lsn = 0, end_lsn = 0;
  int64_t commit_time_us = 0;  // Unix epoch microseconds
  uint32_t xid = 0;
  // Relation (and the relation of Insert/Update/Delete).
  uint32_t relation_id = 0;
  std::string schema, name;
  char replica_identity = 'd';  // d default, n nothing, f full, i index
  std::vector<RelationColumn> columns;
  // Type.
  uint32_t type_oid = 0;
  // Insert/Update/Delete: `old_kind` is 'K' (key columns only), 'O' (whole old row) or 0.
  char old_kind = 0;
  std::vector<TupleValue> old_tuple, new_tuple;
  // Truncate.
  std::vector<uint32_t> truncated;
};

// Decodes one pgoutput message. Corruption for bytes that do not parse.
Status DecodePgOutput(std::string_view bytes, PgOutputMessage* out);

// A CopyData message of the replication stream.
struct ReplicationMessage {
  enum Kind { kXLogData, kKeepalive } kind = kXLogData;
  Lsn wal_start = 0;  // XLogData: where the data starts
  Lsn wal_end = 0;    // the server's end of WAL (sent position, for keepalives)
  bool reply_requested = false;
  std::string_view data;  // XLogData: the pgoutput message
};
Status DecodeReplicationMessage(std::string_view bytes, ReplicationMessage* out);

// The standby status update: written, flushed and applied up to `lsn` (we report the
// same position for the three: what is durable in our log), at `now_us` (Unix micros).
std::string EncodeStandbyStatus(Lsn lsn, int64_t now_us, bool reply_requested);

}  // namespace millrace::cdc
