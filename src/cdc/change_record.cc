#include "cdc/change_record.h"

#include <simdjson.h>

#include <ctime>

#include "common/crypto.h"
#include "common/json_writer.h"
#include "common/time_format.h"
#include "formats/naming.h"

namespace millrace::cdc {

namespace {

constexpr size_t kMaxPartitionKey = 256;  // Kinesis's limit, in characters

void Quote(std::string_view s, std::string* out) { JsonWriter::Quote(s, out); }

std::string IsoMicros(int64_t us) { return Iso8601(us, 6); }

// The value of column i for the new image: the new tuple's, or the old row's when the new
// one says "unchanged TOAST" and the whole old row is known. nullptr: unknown.
const TupleValue* NewValue(const ChangeEvent& ev, size_t i) {
  const TupleValue& v = (*ev.new_tuple)[i];
  if (v.kind != TupleValue::kUnchangedToast) return &v;
  if (ev.old_kind == 'O' && ev.old_tuple && i < ev.old_tuple->size() &&
      (*ev.old_tuple)[i].kind != TupleValue::kUnchangedToast)
    return &(*ev.old_tuple)[i];
  return nullptr;
}

void AppendTupleValue(const ChangeContext& ctx, const RelationColumn& c, const TupleValue& v,
                      std::string* out) {
  if (v.kind == TupleValue::kNull)
    AppendNull(ctx.format, out);
  else
    AppendValue(*ctx.types, c.type_oid, v.data, ctx.format, out);
}

// {"col": value, ...} of the given columns of a tuple (those whose value is known).
void AppendImage(const ChangeContext& ctx, const TableInfo& t,
                 const std::vector<const TupleValue*>& values, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (size_t i = 0; i < t.columns.size() && i < values.size(); ++i) {
    if (!values[i]) continue;
    if (!first) out->push_back(',');
    first = false;
    Quote(t.columns[i].name, out);
    out->push_back(':');
    AppendTupleValue(ctx, t.columns[i], *values[i], out);
  }
  out->push_back('}');
}

}  // namespace

void BuildChangeRecord(const ChangeContext& ctx, const TableInfo& t, const ChangeEvent& ev,
                       BuiltRecord* out) {
  const size_t ncols = t.columns.size();
  // The images' values, column by column (nullptr: not known).
  std::vector<const TupleValue*> new_values, old_values;
  std::vector<std::string_view> unchanged_toast;
  if (ev.new_tuple) {
    new_values.resize(ncols, nullptr);
    for (size_t i = 0; i < ncols && i < ev.new_tuple->size(); ++i) {
      new_values[i] = NewValue(ev, i);
      if (!new_values[i]) unchanged_toast.push_back(t.columns[i].name);
    }
  }
  const bool full_old = ev.old_kind == 'O' && ev.old_tuple;
  if (full_old) {
    old_values.resize(ncols, nullptr);
    for (size_t i = 0; i < ncols && i < ev.old_tuple->size(); ++i)
      if ((*ev.old_tuple)[i].kind != TupleValue::kUnchangedToast)
        old_values[i] = &(*ev.old_tuple)[i];
  }
  // Keys: from the new row, or (REMOVE) from the old row or its key columns.
  const std::vector<TupleValue>* key_source =
      ev.kind == ChangeKind::kRemove ? ev.old_tuple : ev.new_tuple;
  std::vector<const TupleValue*> key_values(ncols, nullptr);
  std::string key_text = t.QualifiedName();
  if (key_source) {
    for (size_t k : t.key_columns) {
      if (k >= key_source->size()) continue;
      const TupleValue* v = &(*key_source)[k];
      if (ev.kind != ChangeKind::kRemove) v = NewValue(ev, k);
      if (!v) continue;
      key_values[k] = v;
      key_text.push_back('/');
      if (v->kind == TupleValue::kNull)
        key_text.append("\\N");
      else
        key_text.append(v->data);
    }
  }
  out->partition_key = key_text.size() <= kMaxPartitionKey
                           ? std::move(key_text)
                           : t.QualifiedName() + "/#" + crypto::Sha256Hex(key_text);

  std::string images;  // "Keys":...,"NewImage":...,"OldImage":... (for SizeBytes too)
  images.append("\"Keys\":");
  AppendImage(ctx, t, key_values, &images);
  if (ev.kind != ChangeKind::kRemove) {
    images.append(",\"NewImage\":");
    AppendImage(ctx, t, new_values, &images);
  }
  if (ev.kind != ChangeKind::kInsert && full_old) {
    images.append(",\"OldImage\":");
    AppendImage(ctx, t, old_values, &images);
  }

  const char* event_name = ev.kind == ChangeKind::kInsert   ? "INSERT"
                           : ev.kind == ChangeKind::kModify ? "MODIFY"
                                                            : "REMOVE";
  const bool snapshot = ev.position.phase == 0;
  std::string seed;
  seed.append(ctx.change_stream).push_back('/');
  seed.append(LsnString(ev.position.lsn)).push_back('/');
  seed.append(snapshot ? "s/" : "c/").append(std::to_string(ev.position.seq));

  std::string& d = out->data;
  d.clear();
  d.reserve(images.size() + 512);
  d.append("{\"awsRegion\":");
  Quote(ctx.region, &d);
  d.append(",\"eventID\":\"").append(formats::DeterministicUuid(seed));
  d.append("\",\"eventName\":\"").append(event_name);
  d.append("\",\"userIdentity\":null,\"recordFormat\":\"application/json\",\"tableName\":");
  Quote(t.name, &d);
  d.append(",\"eventSource\":\"millrace:postgresql\",\"dynamodb\":{");
  d.append("\"ApproximateCreationDateTime\":").append(std::to_string(ev.commit_time_us));
  d.append(",\"ApproximateCreationDateTimePrecision\":\"MICROSECOND\",");
  d.append(images);
  d.append(",\"SizeBytes\":").append(std::to_string(images.size()));
  d.append(",\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"},\"source\":{\"type\":\"postgresql\"");
  d.append(",\"changeStream\":");
  Quote(ctx.change_stream, &d);
  d.append(",\"database\":");
  Quote(ctx.database, &d);
  d.append(",\"schema\":");
  Quote(t.schema, &d);
  d.append(",\"table\":");
  Quote(t.name, &d);
  d.append(",\"lsn\":\"").append(LsnString(ev.position.lsn));
  d.append("\",\"seq\":").append(std::to_string(ev.position.seq));
  if (!snapshot) {
    d.append(",\"xid\":").append(std::to_string(ev.xid));
    d.append(",\"commitTime\":\"").append(IsoMicros(ev.commit_time_us)).append("\"");
  }
  d.append(",\"snapshot\":").append(snapshot ? "true" : "false");
  if (ev.kind != ChangeKind::kInsert)
    d.append(",\"oldImage\":\"")
        .append(full_old             ? "full"
                : ev.old_kind == 'K' ? "keys"
                                     : "none")
        .append("\"");
  if (!unchanged_toast.empty()) {
    d.append(",\"unchangedToastColumns\":[");
    for (size_t i = 0; i < unchanged_toast.size(); ++i) {
      if (i) d.push_back(',');
      Quote(unchanged_toast[i], &d);
    }
    d.push_back(']');
  }
  d.append("}}");
}

std::optional<RecordOrigin> ParseRecordOrigin(std::string_view data) {
  if (data.find("\"millrace:postgresql\"") == std::string_view::npos) return std::nullopt;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(data.data(), data.size()).get(doc) != simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::element src;
  if (doc["source"].get(src) != simdjson::SUCCESS) return std::nullopt;
  std::string_view name, lsn;
  uint64_t seq = 0;
  bool snapshot = false;
  if (src["changeStream"].get(name) != simdjson::SUCCESS ||
      src["lsn"].get(lsn) != simdjson::SUCCESS || src["seq"].get(seq) != simdjson::SUCCESS ||
      src["snapshot"].get(snapshot) != simdjson::SUCCESS)
    return std::nullopt;
  auto parsed = ParseLsn(lsn);
  if (!parsed) return std::nullopt;
  RecordOrigin o;
  o.change_stream = std::string(name);
  o.position = Position{*parsed, snapshot ? 0 : 1, seq};
  return o;
}

}  // namespace millrace::cdc
