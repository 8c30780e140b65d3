// libFuzzer target for what PostgreSQL sends a change stream (cdc/pgoutput.h): arbitrary
// bytes as a replication CopyData message and as a pgoutput message, and, when they decode
// as a row change, built into a change record against a relation of the same width, and a
// PostgreSQL value (text) converted in both image formats. Besides "no crash": every
// record built is JSON whose position a restart can read back.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "cdc/change_record.h"
#include "cdc/pg_value.h"
#include "cdc/pgoutput.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace millrace::cdc;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ReplicationMessage rm;
  (void)DecodeReplicationMessage(in, &rm);
  PgOutputMessage m;
  TypeMap types;
  types.Add({1007, "_int4", 'A', 23});
  // PostgreSQL's text is valid UTF-8 (CheckEncoding): other bytes are not a case to build.
  if (simdjson::validate_utf8(in.data(), in.size()) && DecodePgOutput(in, &m).ok() &&
      (m.type == PgOutputMessage::kInsert || m.type == PgOutputMessage::kUpdate ||
       m.type == PgOutputMessage::kDelete)) {
    const std::vector<TupleValue>& widest =
        m.new_tuple.size() >= m.old_tuple.size() ? m.new_tuple : m.old_tuple;
    TableInfo t;
    t.schema = "public";
    t.name = "fuzz";
    const uint32_t oids[] = {23,   25,          oid::kJsonb,      oid::kNumeric,
                             1007, oid::kBytea, oid::kTimestampTz};
    for (size_t i = 0; i < widest.size(); ++i)
      t.columns.push_back({i == 0, "c" + std::to_string(i), oids[i % 7]});
    if (!t.columns.empty()) t.key_columns = {0};
    for (ImageFormat f : {ImageFormat::kPlain, ImageFormat::kDynamoDb}) {
      ChangeContext ctx{"fz", "us-east-1", "db", f, &types};
      ChangeEvent ev;
      ev.kind = m.type == PgOutputMessage::kInsert   ? ChangeKind::kInsert
                : m.type == PgOutputMessage::kUpdate ? ChangeKind::kModify
                                                     : ChangeKind::kRemove;
      ev.position = Position{0x10, 1, 5};
      ev.old_kind = m.old_kind;
      ev.old_tuple = m.old_kind ? &m.old_tuple : nullptr;
      ev.new_tuple = ev.kind == ChangeKind::kRemove ? nullptr : &m.new_tuple;
      if (ev.kind == ChangeKind::kRemove && !ev.old_tuple) continue;
      BuiltRecord r;
      BuildChangeRecord(ctx, t, ev, &r);
      auto origin = ParseRecordOrigin(r.data);
      if (!origin || !(origin->position == ev.position)) std::abort();
    }
  }
  for (uint32_t oid : {1007u, oid::kJsonb, oid::kBytea, oid::kNumeric, oid::kTimestampTz}) {
    std::string out;
    AppendValue(types, oid, in, ImageFormat::kDynamoDb, &out);
    out.clear();
    AppendValue(types, oid, in, ImageFormat::kPlain, &out);
  }
  std::string field;
  (void)DecodeCopyField(in, &field);
  return 0;
}
