// pgoutput decoding (PostgreSQL's "Logical Replication Message Formats"), on bytes built
// here the way the walsender writes them.
#include <gtest/gtest.h>

#include "cdc/pgoutput.h"

namespace millrace::cdc {
namespace {

// Big-endian message builder.
struct Bytes {
  std::string s;
  Bytes& C(char c) {
    s.push_back(c);
    return *this;
  }
  Bytes& I(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) s.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  Bytes& Str(const std::string& v) {
    s += v;
    s.push_back('\0');
    return *this;
  }
  Bytes& Text(const std::string& v) {
    C('t').I(v.size(), 4);
    s += v;
    return *this;
  }
};

TEST(Lsn, FormatsAndParsesAsPostgreSqlDoes) {
  EXPECT_EQ(LsnString(0x16B374D848ull), "16/B374D848");
  EXPECT_EQ(LsnString(0), "0/0");
  EXPECT_EQ(ParseLsn("16/B374D848"), 0x16B374D848ull);
  EXPECT_EQ(ParseLsn("0/1"), 1u);
  EXPECT_FALSE(ParseLsn("16B374D848"));
  EXPECT_FALSE(ParseLsn("/1"));
  EXPECT_FALSE(ParseLsn("1/"));
  EXPECT_FALSE(ParseLsn("1/G"));
  EXPECT_FALSE(ParseLsn("123456789/0"));
}

TEST(PgOutput, BeginAndCommit) {
  PgOutputMessage m;
  Bytes b;
  b.C('B').I(0x1000, 8).I(1000000, 8).I(735, 4);
  ASSERT_TRUE(DecodePgOutput(b.s, &m).ok());
  EXPECT_EQ(m.type, PgOutputMessage::kBegin);
  EXPECT_EQ(m.final_lsn, 0x1000u);
  EXPECT_EQ(m.xid, 735u);
  EXPECT_EQ(m.commit_time_us, kPgEpochOffsetMicros + 1000000);
  Bytes c;
  c.C('C').I(0, 1).I(0x1000, 8).I(0x1030, 8).I(5, 8);
  ASSERT_TRUE(DecodePgOutput(c.s, &m).ok());
  EXPECT_EQ(m.type, PgOutputMessage::kCommit);
  EXPECT_EQ(m.commit_lsn, 0x1000u);
  EXPECT_EQ(m.end_lsn, 0x1030u);
}

TEST(PgOutput, RelationThenUpdateWithOldRowAndUnchangedToast) {
  PgOutputMessage m;
  Bytes r;
  r.C('R').I(16384, 4).Str("public").Str("shipment").C('f').I(3, 2);
  r.I(1, 1).Str("id").I(23, 4).I(0xffffffff, 4);
  r.I(0, 1).Str("tenant").I(25, 4).I(0xffffffff, 4);
  r.I(0, 1).Str("doc").I(25, 4).I(0xffffffff, 4);
  ASSERT_TRUE(DecodePgOutput(r.s, &m).ok());
  EXPECT_EQ(m.relation_id, 16384u);
  EXPECT_EQ(m.schema, "public");
  EXPECT_EQ(m.name, "shipment");
  EXPECT_EQ(m.replica_identity, 'f');
  ASSERT_EQ(m.columns.size(), 3u);
  EXPECT_TRUE(m.columns[0].key);
  EXPECT_FALSE(m.columns[1].key);
  EXPECT_EQ(m.columns[2].type_oid, 25u);
  EXPECT_EQ(m.columns[2].type_mod, -1);

  Bytes u;
  u.C('U').I(16384, 4).C('O').I(3, 2).Text("1").Text("ACME").Text("big");
  u.C('N').I(3, 2).Text("1").C('n').C('u');
  ASSERT_TRUE(DecodePgOutput(u.s, &m).ok());
  EXPECT_EQ(m.type, PgOutputMessage::kUpdate);
  EXPECT_EQ(m.old_kind, 'O');
  ASSERT_EQ(m.old_tuple.size(), 3u);
  EXPECT_EQ(m.old_tuple[1].data, "ACME");
  ASSERT_EQ(m.new_tuple.size(), 3u);
  EXPECT_EQ(m.new_tuple[1].kind, TupleValue::kNull);
  EXPECT_EQ(m.new_tuple[2].kind, TupleValue::kUnchangedToast);
}

TEST(PgOutput, InsertAndDeleteByKey) {
  PgOutputMessage m;
  Bytes i;
  i.C('I').I(7, 4).C('N').I(1, 2).Text("42");
  ASSERT_TRUE(DecodePgOutput(i.s, &m).ok());
  EXPECT_EQ(m.type, PgOutputMessage::kInsert);
  EXPECT_EQ(m.new_tuple[0].data, "42");
  Bytes d;
  d.C('D').I(7, 4).C('K').I(2, 2).Text("42").C('n');
  ASSERT_TRUE(DecodePgOutput(d.s, &m).ok());
  EXPECT_EQ(m.old_kind, 'K');
  EXPECT_TRUE(m.new_tuple.empty());
  EXPECT_EQ(m.old_tuple[0].data, "42");
}

TEST(PgOutput, TruncatedAndUnknownMessagesAreCorruption) {
  PgOutputMessage m;
  Bytes i;
  i.C('I').I(7, 4).C('N').I(1, 2).C('t').I(10, 4).Str("short");
  EXPECT_EQ(DecodePgOutput(i.s, &m).code(), Code::kCorruption);
  EXPECT_EQ(DecodePgOutput("Z", &m).code(), Code::kCorruption);
  EXPECT_EQ(DecodePgOutput("", &m).code(), Code::kCorruption);
  Bytes bad_kind;
  bad_kind.C('I').I(7, 4).C('N').I(1, 2).C('x');
  EXPECT_EQ(DecodePgOutput(bad_kind.s, &m).code(), Code::kCorruption);
  Bytes rel;
  rel.C('R').I(1, 4).Str("public");  // no table name terminator
  rel.s += "abc";
  EXPECT_EQ(DecodePgOutput(rel.s, &m).code(), Code::kCorruption);
}

TEST(ReplicationStream, XLogDataKeepaliveAndStatusUpdate) {
  ReplicationMessage rm;
  Bytes w;
  w.C('w').I(0x100, 8).I(0x200, 8).I(0, 8);
  w.s += "B...";
  ASSERT_TRUE(DecodeReplicationMessage(w.s, &rm).ok());
  EXPECT_EQ(rm.kind, ReplicationMessage::kXLogData);
  EXPECT_EQ(rm.wal_start, 0x100u);
  EXPECT_EQ(rm.wal_end, 0x200u);
  EXPECT_EQ(rm.data, "B...");
  Bytes k;
  k.C('k').I(0x300, 8).I(0, 8).I(1, 1);
  ASSERT_TRUE(DecodeReplicationMessage(k.s, &rm).ok());
  EXPECT_EQ(rm.kind, ReplicationMessage::kKeepalive);
  EXPECT_EQ(rm.wal_end, 0x300u);
  EXPECT_TRUE(rm.reply_requested);
  EXPECT_FALSE(DecodeReplicationMessage("k\x01", &rm).ok());

  std::string r = EncodeStandbyStatus(0x1234, kPgEpochOffsetMicros + 5, true);
  Bytes want;
  want.C('r').I(0x1234, 8).I(0x1234, 8).I(0x1234, 8).I(5, 8).I(1, 1);
  EXPECT_EQ(r, want.s);
}

}  // namespace
}  // namespace millrace::cdc
