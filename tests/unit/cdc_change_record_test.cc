// The change record's shape, keys, partition keys and the position a restart reads back.
#include <gtest/gtest.h>

#include "cdc/change_record.h"
#include "cdc/pg_conn.h"
#include "cdc/spec.h"

namespace millrace::cdc {
namespace {

TableInfo Shipment() {
  TableInfo t;
  t.relation_id = 1;
  t.schema = "public";
  t.name = "shipment";
  t.columns = {{true, "id", 23}, {false, "tenant", 25}, {false, "doc", 25}};
  t.key_columns = {0};
  return t;
}

TupleValue Text(std::string_view s) { return TupleValue{TupleValue::kText, s}; }

TEST(ChangeRecord, ModifyWithFullOldRowAndItsPosition) {
  TypeMap types;
  ChangeContext ctx{"cs", "eu-west-1", "shop", ImageFormat::kPlain, &types};
  std::vector<TupleValue> old_row = {Text("7"), Text("ACME"), Text("long")};
  std::vector<TupleValue> new_row = {Text("7"), Text("GLOBEX"),
                                     TupleValue{TupleValue::kUnchangedToast, {}}};
  ChangeEvent ev;
  ev.kind = ChangeKind::kModify;
  ev.position = Position{0x1000, 1, 3};
  ev.xid = 99;
  ev.commit_time_us = 1764967445123456;
  ev.old_kind = 'O';
  ev.old_tuple = &old_row;
  ev.new_tuple = &new_row;
  BuiltRecord r;
  BuildChangeRecord(ctx, Shipment(), ev, &r);
  EXPECT_EQ(r.partition_key, "public.shipment/7");
  EXPECT_NE(r.data.find("\"eventName\":\"MODIFY\""), std::string::npos) << r.data;
  EXPECT_NE(r.data.find("\"awsRegion\":\"eu-west-1\""), std::string::npos);
  EXPECT_NE(r.data.find("\"Keys\":{\"id\":7}"), std::string::npos);
  // The unchanged TOASTed value comes from the whole old row.
  EXPECT_NE(r.data.find("\"NewImage\":{\"id\":7,\"tenant\":\"GLOBEX\",\"doc\":\"long\"}"),
            std::string::npos);
  EXPECT_NE(r.data.find("\"OldImage\":{\"id\":7,\"tenant\":\"ACME\",\"doc\":\"long\"}"),
            std::string::npos);
  EXPECT_NE(r.data.find("\"commitTime\":\"2025-12-05T20:44:05.123456Z\""), std::string::npos)
      << r.data;
  EXPECT_EQ(r.data.find("unchangedToastColumns"), std::string::npos);
  auto origin = ParseRecordOrigin(r.data);
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->change_stream, "cs");
  EXPECT_EQ(origin->position, (Position{0x1000, 1, 3}));

  // The same change gives the same eventID; another seq, another.
  BuiltRecord again;
  BuildChangeRecord(ctx, Shipment(), ev, &again);
  EXPECT_EQ(again.data, r.data);
  ev.position.seq = 4;
  BuildChangeRecord(ctx, Shipment(), ev, &again);
  EXPECT_NE(again.data.substr(0, 120), r.data.substr(0, 120));
}

TEST(ChangeRecord, WithoutTheOldRowNothingIsInvented) {
  TypeMap types;
  ChangeContext ctx{"cs", "us-east-1", "shop", ImageFormat::kDynamoDb, &types};
  std::vector<TupleValue> new_row = {Text("7"), Text("ACME"),
                                     TupleValue{TupleValue::kUnchangedToast, {}}};
  ChangeEvent ev;
  ev.kind = ChangeKind::kModify;
  ev.position = Position{0x1000, 1, 0};
  ev.new_tuple = &new_row;
  BuiltRecord r;
  BuildChangeRecord(ctx, Shipment(), ev, &r);
  EXPECT_EQ(r.data.find("OldImage"), std::string::npos);
  EXPECT_NE(r.data.find("\"NewImage\":{\"id\":{\"N\":\"7\"},\"tenant\":{\"S\":\"ACME\"}}"),
            std::string::npos)
      << r.data;
  EXPECT_NE(r.data.find("\"oldImage\":\"none\""), std::string::npos);
  EXPECT_NE(r.data.find("\"unchangedToastColumns\":[\"doc\"]"), std::string::npos);

  std::vector<TupleValue> key_only = {Text("7"), TupleValue{}, TupleValue{}};
  ev.kind = ChangeKind::kRemove;
  ev.old_kind = 'K';
  ev.old_tuple = &key_only;
  ev.new_tuple = nullptr;
  BuildChangeRecord(ctx, Shipment(), ev, &r);
  EXPECT_NE(r.data.find("\"Keys\":{\"id\":{\"N\":\"7\"}}"), std::string::npos) << r.data;
  EXPECT_EQ(r.data.find("OldImage"), std::string::npos);
  EXPECT_EQ(r.data.find("NewImage"), std::string::npos);
  EXPECT_NE(r.data.find("\"oldImage\":\"keys\""), std::string::npos);
}

TEST(ChangeRecord, LongKeysAreHashedIntoKinesisPartitionKeyLimit) {
  TypeMap types;
  ChangeContext ctx{"cs", "us-east-1", "shop", ImageFormat::kPlain, &types};
  TableInfo t = Shipment();
  std::string long_key(300, 'k');
  std::vector<TupleValue> row = {Text(long_key), Text("A"), TupleValue{}};
  t.columns[0].type_oid = 25;
  ChangeEvent ev;
  ev.position = Position{1, 0, 0};
  ev.new_tuple = &row;
  BuiltRecord r;
  BuildChangeRecord(ctx, t, ev, &r);
  EXPECT_LE(r.partition_key.size(), 256u);
  EXPECT_EQ(r.partition_key.rfind("public.shipment/#", 0), 0u);
  EXPECT_NE(r.data.find("\"snapshot\":true"), std::string::npos);
  auto origin = ParseRecordOrigin(r.data);
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->position.phase, 0);
}

TEST(ChangeRecord, PositionsOrderSnapshotBeforeChanges) {
  EXPECT_LT((Position{0x5000, 0, 99}), (Position{0x5000, 1, 0}));
  EXPECT_LT((Position{0x5000, 1, 7}), (Position{0x5001, 1, 0}));
  EXPECT_FALSE(ParseRecordOrigin("{\"eventSource\":\"aws:dynamodb\"}"));
  EXPECT_FALSE(ParseRecordOrigin("not json \"millrace:postgresql\""));
}

TEST(Spec, TheConnectionStringIsShownWithoutItsPassword) {
  for (const char* dsn : {"postgresql://cdc:s3cret@db.internal:5433/shop?sslmode=require",
                          "host=db.internal port=5433 dbname=shop user=cdc password=s3cret"}) {
    auto r = RedactDsn(dsn);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->find("s3cret"), std::string::npos) << *r;
    EXPECT_NE(r->find("host='db.internal'"), std::string::npos) << *r;
    EXPECT_NE(r->find("dbname='shop'"), std::string::npos) << *r;
  }
  EXPECT_FALSE(RedactDsn("host='unterminated").ok());
  EXPECT_EQ(QuoteIdent("we\"ird"), "\"we\"\"ird\"");
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
}

TEST(Spec, ChecksAndNames) {
  auto s = ParseChangeStreamSpec(
      R"({"name":"Shop.CDC","stream":"s","source":{"type":"postgresql","dsn":"host=x",)"
      R"("tables":["shipment","sales.order","shipment"]}})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->tables, (std::vector<std::string>{"public.shipment", "sales.order"}));
  EXPECT_EQ(s->image_format, ImageFormat::kPlain);
  EXPECT_EQ(s->snapshot, SnapshotMode::kInitial);
  EXPECT_LE(s->SlotName().size(), 63u);
  EXPECT_EQ(s->SlotName().rfind("millrace_shop_cdc_", 0), 0u);  // folded: hashed
  auto round = ParseChangeStreamSpec(ChangeStreamSpecJson(*s));
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(ChangeStreamSpecJson(*round), ChangeStreamSpecJson(*s));
  auto plain = ParseChangeStreamSpec(
      R"({"name":"shop","stream":"s","source":{"type":"postgresql","dsn":"x","tables":["t"]}})");
  EXPECT_EQ(plain->SlotName(), "millrace_shop");

  auto bad = [](const std::string& json) {
    auto r = ParseChangeStreamSpec(json);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(bad(R"({"name":"a","stream":"s"})").rfind("source: is required", 0), 0u);
  EXPECT_NE(bad(R"({"name":"a","stream":"s","source":{"type":"postgresql","dsn":"x",)"
                R"("tables":["a;drop table x"]}})")
                .find("is not a table name"),
            std::string::npos);
  EXPECT_NE(bad(R"({"name":"a","stream":"s","source":{"type":"postgresql","dsn":"x",)"
                R"("tables":["t"],"slot":"given"}})")
                .find("'initial' needs a replication slot that Millrace creates"),
            std::string::npos);
  EXPECT_NE(bad(R"({"name":"a","stream":"s","source":{"type":"postgresql","dsn":"x",)"
                R"("tables":["t"],"slot":"Bad-Slot"},"snapshot":"never"})")
                .find("source.slot"),
            std::string::npos);
  EXPECT_NE(bad(R"({"name":"a","stream":"s","source":{"type":"postgresql","dsn":"x",)"
                R"("tables":[]}})")
                .find("at least one table"),
            std::string::npos);
}

}  // namespace
}  // namespace millrace::cdc
