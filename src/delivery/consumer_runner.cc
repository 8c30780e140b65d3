#include "delivery/consumer_runner.h"

#include <simdjson.h>

#include <algorithm>
#include <future>

#include "common/json_writer.h"
#include "common/logging.h"
#include "delivery/deaggregate.h"
#include "delivery/kpl.h"
#include "delivery/pg_store.h"
#include "formats/failed_record.h"
#include "formats/infer.h"
#include "formats/naming.h"
#include "formats/pg_copy.h"
#include "streams/sequence.h"
#include "transform/worker_pool.h"

namespace millrace::delivery {
namespace {

// At most this much is read from a shard at a time (a pass reads less when the buffer has
// less room): a consumer catching up writes files of up to this much per shard and pass.
constexpr size_t kReadRecords = 100000;
constexpr size_t kReadBytes = 16u << 20;
// A data file sent to a stream (ObjectStore::StartPut) goes in pieces of this much.
constexpr size_t kStreamPiece = 256u << 10;
// The files of a partitioned delivery are written this many at a time.
constexpr size_t kParallelPuts = 8;
constexpr int64_t kIdleWaitMs = 100;
// Transformations: an invocation is retried this many times before its records go to
// processing-failed/ (batch size and workers are the consumer's settings).
constexpr int kRetries = 3;

using Pending = ConsumerRunner::Pending;

std::string PendingJson(const Pending& p) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("key");
  w.String(p.key);
  w.Key("failed_key");
  w.String(p.failed_key);
  w.Key("processing_failed_key");
  w.String(p.processing_failed_key);
  w.Key("ranges");
  w.BeginArray();
  for (const ConsumerRunner::Range& r : p.ranges) {
    w.BeginObject();
    w.Key("shard");
    w.Uint(r.shard);
    w.Key("first");
    w.Uint(r.first);
    w.Key("last");
    w.Uint(r.last);
    w.EndObject();
  }
  w.EndArray();
  if (p.version != 0) {
    w.Key("version");
    w.Int(p.version);
  }
  w.EndObject();
  return out;
}

// A pending delivery; one written before deliveries spanned shards has "first" and "last"
// instead of "ranges", and is of `row_shard`, the shard whose row holds it.
bool ParsePending(const std::string& json, uint32_t row_shard, Pending* p) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) return false;
  std::string_view key, failed;
  if (doc["key"].get(key) || doc["failed_key"].get(failed)) return false;
  p->key = std::string(key);
  p->failed_key = std::string(failed);
  std::string_view processing;
  if (doc["processing_failed_key"].get(processing) == simdjson::SUCCESS)
    p->processing_failed_key = std::string(processing);
  p->ranges.clear();
  simdjson::dom::array ranges;
  if (doc["ranges"].get(ranges) == simdjson::SUCCESS) {
    for (simdjson::dom::element e : ranges) {
      uint64_t shard, first, last;
      if (e["shard"].get(shard) || e["first"].get(first) || e["last"].get(last) ||
          shard >= ConsumerRunner::kDeliveryRow || first > last)
        return false;
      p->ranges.push_back({static_cast<uint32_t>(shard), first, last});
    }
    if (p->ranges.empty()) return false;
  } else {
    uint64_t first, last;
    if (doc["first"].get(first) || doc["last"].get(last) ||
        row_shard == ConsumerRunner::kDeliveryRow)
      return false;
    p->ranges.push_back({row_shard, first, last});
  }
  int64_t version = 0;
  if (doc["version"].get(version) == simdjson::SUCCESS) p->version = version;
  return true;
}

// The transformation's metadata.partitionKeys (Firehose's partitionKeyFromLambda) into
// `values` as "lambda:<key>"; false with `why` for keys that cannot name a folder.
bool LambdaPartitionKeys(const std::string& metadata, formats::PartitionValues* values,
                         std::string* why) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::object keys;
  if (parser.parse(metadata).get(doc) != simdjson::SUCCESS ||
      doc["partitionKeys"].get(keys) != simdjson::SUCCESS)
    return true;  // no keys given: a key the prefix needs is then missing, and says so
  for (auto [k, v] : keys) {
    std::string_view text;
    if (v.get(text) != simdjson::SUCCESS || !ValidPartitionValue(text)) {
      *why = "the transformation's metadata.partitionKeys." + std::string(k.substr(0, 64)) +
             " must be a string of 1 to 512 of A-Z a-z 0-9 _ . * ' ( ) ! -";
      return false;
    }
    (*values)["lambda:" + std::string(k)] = std::string(text);
  }
  return true;
}

// KPL-aggregated records (kpl.h) replaced by their user records, each with the counter and
// arrival of the record that carried it, as Firehose delivers a Kinesis source's.
void ExpandAggregated(std::vector<log::Record>* records) {
  bool any = false;
  for (const log::Record& r : *records)
    if (!r.data.empty() && static_cast<unsigned char>(r.data[0]) == 0xF3) any = true;
  if (!any) return;
  std::vector<log::Record> out;
  out.reserve(records->size());
  std::vector<UserRecord> users;
  for (log::Record& r : *records) {
    if (!Deaggregate(r.data, &users)) {
      out.push_back(std::move(r));
      continue;
    }
    for (UserRecord& u : users) {
      log::Record sub = r;  // counter, arrival, and whatever else the record carries
      sub.partition_key = std::move(u.partition_key);
      sub.data = std::move(u.data);
      out.push_back(std::move(sub));
    }
  }
  *records = std::move(out);
}

// Records that carry several (deaggregate.h) replaced by them, each with the counter and
// arrival of the record that carried it; `type` is the consumer's deaggregation.
void SplitRecords(std::vector<log::Record>* records, const std::string& type,
                  const std::string& delimiter) {
  if (type.empty()) return;
  std::vector<log::Record> out;
  out.reserve(records->size());
  std::vector<std::string_view> pieces;
  for (log::Record& r : *records) {
    const bool split = type == "JSON" ? SplitJsonObjects(r.data, &pieces)
                                      : SplitDelimited(r.data, delimiter, &pieces);
    if (!split || pieces.size() == 1) {
      out.push_back(std::move(r));
      continue;
    }
    for (std::string_view piece : pieces) {
      log::Record sub = r;
      sub.data.assign(piece);
      out.push_back(std::move(sub));
    }
  }
  *records = std::move(out);
}

// Firehose's default quota of active partitions per delivery stream; a delivery holding
// more sends the records of the others to processing-failed.
constexpr size_t kMaxActivePartitions = 500;

void AppendConversionFailure(const log::Record& r, const std::string& message, int64_t now_ms,
                             std::string_view seq, std::string_view shard_id, std::string* out) {
  formats::FailedRecord f;
  f.attempts_made = 1;
  f.arrival_ms = r.arrival_ms;
  f.error_code = formats::kErrorCodeParseError;
  f.error_message = message;
  f.attempt_ending_ms = now_ms;
  f.raw_data = r.data;
  f.sequence_number = seq;
  f.partition_key = r.partition_key;
  f.shard_id = shard_id;
  formats::AppendFailedRecord(formats::ErrorOutputType::kFormatConversionFailed, f, out);
}

}  // namespace

ConsumerRunner::ConsumerRunner(Deps deps, ConsumerSpec consumer, DatasetSpec dataset,
                               int64_t version, std::shared_ptr<ConsumerCounters> counters)
    : deps_(std::move(deps)),
      consumer_(std::move(consumer)),
      dataset_(std::move(dataset)),
      version_(version),
      infer_(dataset_.typed() && (!dataset_.schema.HasColumns() || dataset_.schema.inferred)),
      partitioned_(!consumer_.partition_query.empty() ||
                   !formats::PartitionKeysOf(dataset_.key_prefix).empty()),
      partition_keys_(formats::PartitionKeysOf(dataset_.key_prefix)),
      counters_(counters ? std::move(counters) : std::make_shared<ConsumerCounters>()) {
  format_.file_type = dataset_.file_type;
  format_.compression = dataset_.compression;
  format_.csv_header = dataset_.csv_header;
  format_.csv_delimiter = dataset_.csv_delimiter;
  format_.record_delimiter = dataset_.record_delimiter;
  format_.file_extension = dataset_.file_extension;
  if (dataset_.typed())
    format_.schema = std::make_shared<const formats::TableSchema>(dataset_.schema);
  // Row groups sized from the buffer: a file is usually one row group.
  format_.row_group_bytes = static_cast<size_t>(consumer_.buffer_size_mib) << 20;
  status_.name = consumer_.name;
  status_.state = "STARTING";
}

ConsumerRunner::~ConsumerRunner() { Stop(); }

void ConsumerRunner::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ConsumerRunner::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ConsumerStatus ConsumerRunner::Status() {
  std::lock_guard<std::mutex> l(mu_);
  ConsumerStatus s = status_;
  const ConsumerCounters& c = *counters_;
  s.consecutive_failures = consecutive_failures_.load();
  s.records_delivered = c.delivered.load();
  s.objects_written = c.objects.load();
  s.records_dropped = c.dropped.load();
  s.records_filtered = c.filtered.load();
  s.records_processing_failed = c.processing_failed.load();
  s.records_conversion_failed = c.conversion_failed.load();
  s.records_failed = s.records_processing_failed + s.records_conversion_failed;
  s.invocations = c.invocations.load();
  s.invocation_errors = c.invocation_errors.load();
  s.invocation_timeouts = c.invocation_timeouts.load();
  s.invocation_duration_ms_sum = c.duration_ms_sum.load();
  for (const auto& b : c.duration_buckets) s.invocation_duration_buckets.push_back(b.load());
  return s;
}

void ConsumerRunner::NoteError(const ::millrace::Status& st) { NoteError(st.ToString()); }

void ConsumerRunner::NoteError(const std::string& message) {
  std::lock_guard<std::mutex> l(mu_);
  status_.state = "FAILING";
  status_.last_error = message;
  status_.last_error_at_ms = deps_.clock->NowMillis();
  ++consecutive_failures_;
}

void ConsumerRunner::NoteSuccess() {
  std::lock_guard<std::mutex> l(mu_);
  if (status_.state == "FAILING") {
    status_.state = "RUNNING";
    LOG(kInfo) << "delivery: " << consumer_.name << " recovered after " << consecutive_failures_
               << " failure(s)";
  }
  consecutive_failures_ = 0;
}

bool ConsumerRunner::WaitBackoff() {
  const int64_t wait_ms = Backoff(std::max<uint64_t>(1, consecutive_failures_.load()));
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, std::chrono::milliseconds(wait_ms), [&] { return stopping_; });
  return !stopping_;
}

::millrace::Status ConsumerRunner::OpenTransform() {
  if (consumer_.transformation.empty() || pool_) return ::millrace::Status::Ok();
  auto row = deps_.catalog->GetDoc(catalog::DocKind::kTransformation, consumer_.transformation);
  if (!row.ok()) return row.status();
  if (!*row)
    return ::millrace::Status::NotFound("transformation " + consumer_.transformation +
                                        " does not exist");
  auto function = FunctionOf(consumer_.transformation, (*row)->spec, (*row)->version);
  if (!function.ok()) return function.status();
  transform::FunctionSpec& spec = *function;
  transform_arn_ = "arn:aws:lambda:" + deps_.streams->options().region + ":" +
                   deps_.streams->options().account_id + ":function:" + spec.name + ":" +
                   spec.version;
  transform::LogSink sink = deps_.log_sink_for ? deps_.log_sink_for(spec.name) : nullptr;
  pool_ = std::make_unique<transform::WorkerPool>(spec, consumer_.transformation_workers, sink);
  return ::millrace::Status::Ok();
}

::millrace::Status ConsumerRunner::OpenStore() {
  MILLRACE_RETURN_IF_ERROR(OpenTransform());
  if (!dataset_.time_zone.empty() && !zone_) {  // checked when the dataset was made; gone since?
    auto zone = formats::TimeZone::Load(dataset_.time_zone);
    if (!zone.ok()) return zone.status();
    zone_ = std::move(*zone);
  }
  if (!consumer_.filter.empty() && !filter_) {  // on the runner's thread: compiling takes ms
    auto f = RecordFilter::Compile(consumer_.filter);
    if (!f.ok()) return ::millrace::Status::InvalidArgument("filter: " + f.status().message());
    filter_ = std::move(*f);
  }
  if (!consumer_.partition_query.empty() && !partition_query_) {
    auto q = PartitionQuery::Compile(consumer_.partition_query);
    if (!q.ok())
      return ::millrace::Status::InvalidArgument("partition_query: " + q.status().message());
    partition_query_ = std::move(*q);
  }
  if (dataset_.target.type == "s3") {
    objstore::S3Config c;
    c.endpoint_url = dataset_.target.endpoint_url;
    c.region = dataset_.target.region;
    c.bucket = dataset_.target.bucket;
    c.prefix = dataset_.target.prefix;
    c.access_key_id = dataset_.target.access_key_id;
    c.secret_access_key = dataset_.target.secret_access_key;
    auto s = objstore::NewS3Store(c);
    if (!s.ok()) return s.status();
    store_ = std::move(*s);
  } else {
    auto s = objstore::NewLocalStore(LocalRoot(deps_.data_dir, dataset_),
                                     deps_.data_dir + "/staging/" + dataset_.name);
    if (!s.ok()) return s.status();
    store_ = std::move(*s);
    if (dataset_.target.type == "postgresql") {  // the rows into a table; failures stay here
      PgTarget t;
      t.dsn = dataset_.target.dsn;
      t.schema = dataset_.target.pg_schema;
      t.table = dataset_.target.table;
      t.columns = dataset_.schema;
      t.csv_header = dataset_.csv_header;
      t.csv_delimiter = dataset_.csv_delimiter;
      store_ = NewPgStore(std::move(t), std::move(store_));
    }
  }
  return ::millrace::Status::Ok();
}

void ConsumerRunner::Run() {
  ::millrace::Status st = OpenStore();
  for (;;) {
    bool worked = false;
    if (!st.ok()) {
      NoteError(st);
      st = OpenStore();
      if (st.ok()) NoteSuccess();
    } else {
      worked = Pass();
    }
    const uint64_t failures = consecutive_failures_.load();
    std::unique_lock<std::mutex> l(mu_);
    if (stopping_) return;
    const int64_t wait_ms = failures > 0 ? Backoff(failures) : kIdleWaitMs;
    if (!worked || failures > 0)
      cv_.wait_for(l, std::chrono::milliseconds(wait_ms), [&] { return stopping_; });
    if (stopping_) return;
  }
}

::millrace::Status ConsumerRunner::LoadCheckpoints(uint64_t stream_id) {
  auto rows = deps_.catalog->ListCheckpoints(consumer_.name);
  if (!rows.ok()) return rows.status();
  saved_.clear();
  for (const auto& r : *rows)
    if (r.stream_id == stream_id) saved_[r.shard_index] = r;
  return ::millrace::Status::Ok();
}

::millrace::Status ConsumerRunner::SaveCheckpoint(uint64_t stream_id, const ShardState& st,
                                                  const std::string& pending) {
  catalog::CheckpointRow row;
  row.consumer = consumer_.name;
  row.stream_id = stream_id;
  row.shard_index = st.index;
  row.next_counter = st.checkpoint;
  row.pending = pending;
  return deps_.catalog->PutCheckpoint(row);
}

::millrace::Status ConsumerRunner::WriteWithRetry(const std::string& key, const std::string& bytes,
                                                  const std::string& content_type) {
  for (;;) {
    ::millrace::Status st = store_->Put(key, bytes, content_type);
    if (st.ok()) return st;
    NoteError("writing " + key + " to " + store_->Describe() + ": " + st.ToString());
    LOG(kWarn) << "delivery: " << consumer_.name << ": writing " << key << " to "
               << store_->Describe() << " failed: " << st.ToString() << "; retrying ("
               << consecutive_failures_ << " failure(s) in a row)";
    if (!WaitBackoff()) return ::millrace::Status::Unavailable("stopping");
  }
}

// Builds the files of a delivery's records, each range's from `held` or re-read from the
// log: the data file, and the lines for format-conversion-failed/ and processing-failed/.
// With a transformation, records go through it in batches first (a batch holds one shard's
// records). Deterministic without a transformation, so a redo writes the same bytes.
::millrace::Status ConsumerRunner::BuildFile(uint64_t stream_id, const std::vector<Range>& ranges,
                                             std::vector<std::vector<log::Record>> held,
                                             FileParts* out, objstore::ObjectStream* stream) {
  std::unique_ptr<formats::FileWriter> writer;
  if (!infer_) {
    auto w = pg_copy_ ? formats::NewPgCopyWriter(format_) : formats::NewWriter(format_);
    if (!w.ok()) return w.status();
    writer = std::move(*w);
  }
  *out = FileParts();
  const int64_t now_ms = deps_.clock->NowMillis();
  // The shard of the records being written (set per range, per batch, per inferred record).
  uint32_t shard = 0;
  std::string shard_id;
  auto at_shard = [&](uint32_t index) {
    if (shard_id.empty() || index != shard) {
      shard = index;
      shard_id = streams::ShardIdOf(index);
    }
  };
  std::vector<log::Record> batch;
  size_t batch_bytes = 0;
  // Inference mode: the records (after any transformation) wait here for the schema.
  std::vector<log::Record> inferring;
  std::vector<uint32_t> inferring_shard;
  // Dynamic partitioning: the partitions of this delivery, by their values' canonical form.
  std::map<std::string, size_t> partition_index;
  formats::PartitionValues values;
  std::string why;
  std::string piece;                 // what goes to `stream` next
  ::millrace::Status stream_status;  // the stream's first failure
  auto write = [&](const log::Record& r, std::string_view data,
                   const std::optional<std::string>* metadata) {
    // The sequence number only for what fails (the writers do not read it): made per record,
    // it cost more than a CSV row's conversion.
    auto seq_of = [&] { return streams::EncodeSequence(stream_id, shard, r.counter); };
    formats::InputRecord in{data, r.partition_key, r.arrival_ms, {}, shard_id};
    formats::FileWriter* w = writer.get();
    PartFile* part = nullptr;
    if (partitioned_) {
      values.clear();
      bool ok = !partition_query_ || partition_query_->Extract(data, &values, &why);
      if (ok && metadata && *metadata) ok = LambdaPartitionKeys(**metadata, &values, &why);
      for (size_t i = 0; ok && i < partition_keys_.size(); ++i)
        if (!values.count(partition_keys_[i])) {
          why = partition_keys_[i].starts_with("lambda:")
                    ? "the transformation gave no metadata.partitionKeys." +
                          partition_keys_[i].substr(7)
                : partition_query_ ? "the partition key query gave no " + partition_keys_[i]
                                   : "the consumer has no partition_query to give the "
                                     "partition key " +
                                         partition_keys_[i];
          ok = false;
        }
      std::string canonical;
      for (const auto& [k, v] : values) canonical += k + "=" + v + "/";
      auto it = partition_index.find(canonical);
      if (ok && it == partition_index.end() && partition_index.size() >= kMaxActivePartitions) {
        why = "more than " + std::to_string(kMaxActivePartitions) +
              " active partitions in one delivery (Firehose's default quota)";
        ok = false;
      }
      if (!ok) {
        formats::FailedRecord f;
        f.attempts_made = 1;
        f.arrival_ms = r.arrival_ms;
        f.error_code = "DynamicPartitioning.MetadataExtractionFailed";
        f.error_message = why;
        f.attempt_ending_ms = now_ms;
        f.raw_data = data;
        const std::string seq = seq_of();
        f.sequence_number = seq;
        f.partition_key = r.partition_key;
        f.shard_id = shard_id;
        formats::AppendFailedRecord(formats::ErrorOutputType::kProcessingFailed, f,
                                    &out->processing_lines);
        ++out->processing_failed;
        return;
      }
      if (it == partition_index.end()) {
        it = partition_index.emplace(canonical, out->partitions.size()).first;
        out->partitions.emplace_back();
        out->partitions.back().values = values;
        out->partitions.back().oldest_arrival_ms = r.arrival_ms;
      }
      part = &out->partitions[it->second];
      part->oldest_arrival_ms = std::min(part->oldest_arrival_ms, r.arrival_ms);
      if (!part->writer && (!infer_ || format_.schema->HasColumns())) {
        auto made = formats::NewWriter(format_);
        if (!made.ok()) {  // cannot happen for a format that made a writer before; not lost
          ++out->conversion_failed;
          AppendConversionFailure(r, made.status().message(), now_ms, seq_of(), shard_id,
                                  &out->conversion_lines);
          return;
        }
        part->writer = std::move(*made);
      }
      w = part->writer.get();
    }
    ::millrace::Status st =
        w ? w->Add(in)
          : ::millrace::Status::InvalidArgument(
                "the dataset's schema has no columns yet, and no record so far gave any "
                "(records must be JSON objects, or CSV lines)");
    if (st.ok()) {
      ++out->good;
      if (part) ++part->good;
      if (stream && !part && stream_status.ok() && w->BufferedBytes() >= kStreamPiece) {
        piece.clear();
        if (w->TakeBytes(&piece)) {
          out->streamed = true;
          stream_status = stream->Append(piece);
        }
      }
    } else {
      ++out->conversion_failed;
      AppendConversionFailure(r, st.message(), now_ms, seq_of(), shard_id, &out->conversion_lines);
    }
  };
  std::vector<std::optional<std::string>> inferring_metadata;  // the transformation's
  auto add = [&](const log::Record& r, std::string_view data,
                 const std::optional<std::string>* metadata = nullptr) {
    if (!infer_) return write(r, data, metadata);
    inferring.push_back(log::Record{r.counter, r.arrival_ms, r.partition_key, std::string(data)});
    inferring_shard.push_back(shard);
    inferring_metadata.push_back(metadata ? *metadata : std::nullopt);
  };
  // Batches wait here until transformation_workers of them can be invoked at once; their
  // outcomes are applied in order, so the file keeps the shard's record order.
  std::vector<std::pair<uint32_t, std::vector<log::Record>>> window;  // (shard, batch)
  auto run_window = [&]() -> ::millrace::Status {
    std::vector<std::future<Invoked>> calls;
    for (auto& [index, b] : window)
      calls.push_back(std::async(std::launch::async, [this, stream_id, index = index, &b] {
        return InvokeBatch(stream_id, index, b);
      }));
    ::millrace::Status st;
    for (size_t i = 0; i < window.size(); ++i) {
      Invoked invoked = calls[i].get();
      at_shard(window[i].first);
      if (st.ok()) st = Transform(stream_id, shard, window[i].second, invoked, add, out);
    }
    window.clear();
    return st;
  };
  auto run_batch = [&]() -> ::millrace::Status {
    if (batch.empty()) return ::millrace::Status::Ok();
    window.emplace_back(shard, std::move(batch));
    batch.clear();
    batch_bytes = 0;
    if (window.size() >= static_cast<size_t>(consumer_.transformation_workers)) return run_window();
    return ::millrace::Status::Ok();
  };
  auto take = [&](std::vector<log::Record>& records, uint64_t last) -> ::millrace::Status {
    for (log::Record& r : records) {
      if (r.counter > last) break;
      if (out->oldest_arrival_ms == 0 || r.arrival_ms < out->oldest_arrival_ms)
        out->oldest_arrival_ms = r.arrival_ms;
      // The filter comes first: what it rejects costs no invocation and no conversion.
      if (filter_ && !filter_->Keep(r.data)) {
        ++out->filtered;
        continue;
      }
      if (!pool_) {
        add(r, r.data);
        continue;
      }
      if (!batch.empty() && batch_bytes + r.data.size() >
                                static_cast<size_t>(consumer_.transformation_buffer_mib) << 20)
        MILLRACE_RETURN_IF_ERROR(run_batch());
      batch_bytes += r.data.size();
      batch.push_back(std::move(r));
    }
    return ::millrace::Status::Ok();
  };
  for (size_t i = 0; i < ranges.size(); ++i) {
    const Range& range = ranges[i];
    MILLRACE_RETURN_IF_ERROR(run_batch());  // a batch holds one shard's records
    at_shard(range.shard);
    if (i < held.size() && !held[i].empty()) {
      MILLRACE_RETURN_IF_ERROR(take(held[i], range.last));
      continue;
    }
    uint64_t at = range.first;
    while (at <= range.last) {
      log::Journal::ReadResult rr;
      MILLRACE_RETURN_IF_ERROR(
          deps_.streams->ReadShard(stream_id, range.shard, at, kReadRecords, kReadBytes, &rr));
      if (rr.records.empty()) break;
      const uint64_t read_end = rr.records.back().counter;
      ExpandAggregated(&rr.records);
      SplitRecords(&rr.records, consumer_.deaggregation, consumer_.deaggregation_delimiter);
      MILLRACE_RETURN_IF_ERROR(take(rr.records, range.last));
      MILLRACE_RETURN_IF_ERROR(stream_status);
      if (read_end >= range.last) break;
      at = read_end + 1;
    }
  }
  MILLRACE_RETURN_IF_ERROR(run_batch());
  MILLRACE_RETURN_IF_ERROR(run_window());
  if (infer_) {
    MILLRACE_RETURN_IF_ERROR(ResolveSchema(inferring));
    if (format_.schema->HasColumns()) {
      auto w = formats::NewWriter(format_);
      if (!w.ok()) return w.status();
      writer = std::move(*w);
    }
    for (size_t i = 0; i < inferring.size(); ++i) {
      at_shard(inferring_shard[i]);
      write(inferring[i], inferring[i].data, &inferring_metadata[i]);
    }
    if (!writer && !partitioned_) return ::millrace::Status::Ok();  // every record failed
  }
  if (partitioned_) {
    for (PartFile& part : out->partitions) {
      if (!part.writer) continue;
      auto bytes = part.writer->Finish();
      if (!bytes.ok()) return bytes.status();
      part.bytes = std::move(*bytes);
      part.writer.reset();
    }
    return ::millrace::Status::Ok();
  }
  MILLRACE_RETURN_IF_ERROR(stream_status);
  auto bytes = writer->Finish();
  if (!bytes.ok()) return bytes.status();
  if (out->streamed) return stream->Append(*bytes);  // the rest
  out->bytes = std::move(*bytes);
  return ::millrace::Status::Ok();
}

namespace {
// Widening is a read-modify-write of the dataset's document: one runner at a time.
std::mutex& SchemaMutex() {
  static std::mutex mu;
  return mu;
}
}  // namespace

::millrace::Status ConsumerRunner::ResolveSchema(const std::vector<log::Record>& records) {
  std::lock_guard<std::mutex> l(SchemaMutex());
  auto row = deps_.catalog->GetDoc(catalog::DocKind::kDataset, dataset_.name);
  if (!row.ok()) return row.status();
  if (!*row) return ::millrace::Status::NotFound("dataset " + dataset_.name + " does not exist");
  auto stored = ParseDataset((*row)->spec);
  if (!stored.ok()) return stored.status();
  // Whether the dataset is as this runner started with it but for the schema: if not, the
  // control API changed it and Reload restarts this runner; meanwhile files keep its name.
  DatasetSpec same = *stored;
  same.schema = dataset_.schema;
  const bool only_schema_moved = DatasetJson(same, true) == DatasetJson(dataset_, true);
  formats::TableSchema schema = stored->schema;
  if (!schema.HasColumns() || schema.inferred) {
    formats::SchemaInferrer inferrer(schema);
    for (const log::Record& r : records) inferrer.Observe(r.data);
    if (inferrer.Changed()) {
      schema = inferrer.Schema();
      stored->schema = schema;
      const int64_t now = deps_.clock->NowMillis();
      MILLRACE_RETURN_IF_ERROR(deps_.catalog->UpdateDoc(catalog::DocKind::kDataset, dataset_.name,
                                                        DatasetJson(*stored, true), now, nullptr));
      // New schema, new consumer versions: the files of each schema have their own names.
      MILLRACE_RETURN_IF_ERROR(BumpConsumersOf(deps_.catalog, dataset_.name, now));
      LOG(kInfo) << "delivery: dataset " << dataset_.name << " inferred schema is now "
                 << formats::TableSchemaJson(schema) << "; its consumers' versions were bumped";
    }
  }
  if (only_schema_moved) {
    auto me = deps_.catalog->GetDoc(catalog::DocKind::kConsumer, consumer_.name);
    if (!me.ok()) return me.status();
    if (*me) {
      auto spec = ParseConsumer((*me)->spec);
      if (spec.ok() && ConsumerJson(*spec) == ConsumerJson(consumer_)) version_ = (*me)->version;
    }
  }
  format_.schema = std::make_shared<const formats::TableSchema>(std::move(schema));
  return ::millrace::Status::Ok();
}

// Runs one batch through the transformation, retrying a failed invocation kRetries times;
// Ok records go to `add`, ProcessingFailed ones and the records of an invocation that
// failed every attempt to processing-failed/, Dropped ones nowhere.
// One invocation of the transformation on `batch`, retried kRetries times. Thread-safe:
// BuildFile runs up to transformation_workers of them at once.
ConsumerRunner::Invoked ConsumerRunner::InvokeBatch(uint64_t stream_id, uint32_t shard,
                                                    const std::vector<log::Record>& batch) {
  const std::string shard_id = streams::ShardIdOf(shard);
  std::vector<transform::InputRecord> in(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    in[i].record_id = streams::EncodeSequence(stream_id, shard, batch[i].counter);
    in[i].data = batch[i].data;
    in[i].approximate_arrival_ms = batch[i].arrival_ms;
    in[i].shard_id = shard_id;
    in[i].partition_key = batch[i].partition_key;
    in[i].sequence_number = in[i].record_id;
  }
  const std::string region = deps_.streams->options().region;
  transform::InvokeContext ctx;
  ctx.delivery_stream_arn = "arn:aws:firehose:" + region + ":" +
                            deps_.streams->options().account_id + ":deliverystream/" +
                            consumer_.name;
  ctx.source_kinesis_stream_arn = deps_.streams->StreamArn(consumer_.stream, region);
  ctx.region = region;
  Invoked out;
  // While the function fails on whole batches, each next batch waits first: a broken
  // function is not run in a tight loop, and one that recovers is found within the ceiling.
  if (consecutive_failures_ > 0 && !WaitBackoff()) {
    out.result.error = transform::InvocationError{transform::ErrorKind::kShutdown, "", "stopping"};
    return out;
  }
  for (; out.attempts <= kRetries; ++out.attempts) {
    if (out.attempts > 0) {  // retries back off too: 1 s, 2 s, 4 s (with jitter)
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::milliseconds(Backoff(out.attempts)), [&] { return stopping_; });
      if (stopping_) {  // the batch is redone after the restart, not sent to processing-failed/
        out.result.error =
            transform::InvocationError{transform::ErrorKind::kShutdown, "", "stopping"};
        break;
      }
    }
    ctx.invocation_id = formats::DeterministicUuid(consumer_.name + "/" + in.front().record_id +
                                                   "/" + std::to_string(out.attempts) + "/" +
                                                   std::to_string(deps_.clock->NowMillis()));
    out.result = pool_->Invoke(in, ctx);
    if (!out.result.ok() && out.result.error->kind == transform::ErrorKind::kShutdown) break;
    counters_->AddInvocation(
        out.result.duration_ms, !out.result.ok(),
        !out.result.ok() && out.result.error->kind == transform::ErrorKind::kTimeout);
    if (out.result.ok()) break;
    // The traceback's last lines (where the error is) go with it; the whole one is in the
    // transformation's log (GET /api/v1/transformations/<name>/logs).
    std::string trace;
    const auto& lines = out.result.error->stack_trace;
    for (size_t i = lines.size() > 20 ? lines.size() - 20 : 0; i < lines.size(); ++i)
      trace += "\n    " + lines[i];
    LOG(kWarn) << "delivery: " << consumer_.name << ": transformation " << consumer_.transformation
               << " failed (attempt " << out.attempts + 1 << "): " << out.result.error->code << ": "
               << out.result.error->message << trace;
  }
  return out;
}

// Applies one batch's outcome, in record order: Ok records go to `add`, ProcessingFailed
// ones and the records of an invocation that failed every attempt to processing-failed/,
// Dropped ones nowhere.
template <typename Add>
::millrace::Status ConsumerRunner::Transform(uint64_t stream_id, uint32_t shard,
                                             const std::vector<log::Record>& batch,
                                             Invoked& invoked, Add& add, FileParts* out) {
  const std::string shard_id = streams::ShardIdOf(shard);
  transform::InvokeResult& result = invoked.result;
  const int attempts = invoked.attempts;
  if (!result.ok() && result.error->kind == transform::ErrorKind::kShutdown)
    return ::millrace::Status::Unavailable("stopping");
  std::vector<std::string> seqs(batch.size());
  for (size_t i = 0; i < batch.size(); ++i)
    seqs[i] = streams::EncodeSequence(stream_id, shard, batch[i].counter);
  const int64_t now_ms = deps_.clock->NowMillis();
  auto failed = [&](size_t i, std::string_view code, std::string_view message, int made) {
    formats::FailedRecord f;
    f.attempts_made = made;
    f.arrival_ms = batch[i].arrival_ms;
    f.error_code = code;
    f.error_message = message;
    f.attempt_ending_ms = now_ms;
    f.raw_data = batch[i].data;
    f.lambda_arn = transform_arn_;
    f.sequence_number = seqs[i];
    f.partition_key = batch[i].partition_key;
    f.shard_id = shard_id;
    formats::AppendFailedRecord(formats::ErrorOutputType::kProcessingFailed, f,
                                &out->processing_lines);
    ++out->processing_failed;
  };
  if (!result.ok()) {
    for (size_t i = 0; i < batch.size(); ++i)
      failed(i, result.error->code, result.error->message, attempts);
    out->invocation_error = "transformation " + consumer_.transformation + " failed on " +
                            std::to_string(batch.size()) + " records after " +
                            std::to_string(attempts) +
                            " attempts (sent to processing-failed/): " + result.error->code + ": " +
                            result.error->message;
    NoteError(out->invocation_error);
    return ::millrace::Status::Ok();
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    const transform::OutputRecord& o = result.records[i];
    switch (o.result) {
      case transform::RecordResult::kOk:
        add(batch[i], o.data, &o.metadata);
        break;
      case transform::RecordResult::kDropped:
        ++out->dropped;
        break;
      case transform::RecordResult::kProcessingFailed:
        failed(i, "Lambda.ProcessingFailedStatus",
               "The function returned ProcessingFailed for this record", 1);
        break;
    }
  }
  return ::millrace::Status::Ok();
}

::millrace::Status ConsumerRunner::Redo(uint64_t stream_id, uint32_t row_shard,
                                        const std::string& pending_json) {
  Pending p;
  pg_copy_ = false;  // CSV text: any table takes it
  if (!ParsePending(pending_json, row_shard, &p))
    return ::millrace::Status::Corruption("unreadable pending delivery for " + consumer_.name);
  FileParts parts;
  MILLRACE_RETURN_IF_ERROR(BuildFile(stream_id, p.ranges, {}, &parts));
  std::string what;
  for (const Range& r : p.ranges)
    what += (what.empty() ? "" : ", ") + streams::ShardIdOf(r.shard) + " records " +
            std::to_string(r.first) + ".." + std::to_string(r.last);
  LOG(kInfo) << "delivery: " << consumer_.name << ": completing the delivery of " << what
             << " cut short by a stop (" << p.key << ")";
  // A pending delivery written before versions were recorded in it.
  if (partitioned_ && p.version == 0) p.version = version_.load();
  MILLRACE_RETURN_IF_ERROR(WriteParts(stream_id, p, parts));
  return Commit(stream_id, p);
}

::millrace::Status ConsumerRunner::Commit(uint64_t stream_id, const Pending& p) {
  std::vector<catalog::CheckpointRow> rows;
  for (const Range& r : p.ranges) {
    catalog::CheckpointRow row;
    row.consumer = consumer_.name;
    row.stream_id = stream_id;
    row.shard_index = r.shard;
    row.next_counter = r.last + 1;
    rows.push_back(std::move(row));
  }
  catalog::CheckpointRow delivery;
  delivery.consumer = consumer_.name;
  delivery.stream_id = stream_id;
  delivery.shard_index = kDeliveryRow;
  rows.push_back(std::move(delivery));
  return deps_.catalog->PutCheckpoints(rows);
}

std::string ConsumerRunner::SeedOf(uint64_t stream_id, const std::vector<Range>& ranges) const {
  // One shard's: as named before deliveries spanned shards, so its files keep their names.
  std::string seed = consumer_.name + "/" + std::to_string(stream_id) + "/";
  if (ranges.size() == 1)
    return seed + std::to_string(ranges[0].shard) + "/" + std::to_string(ranges[0].first) + "-" +
           std::to_string(ranges[0].last);
  for (size_t i = 0; i < ranges.size(); ++i)
    seed += (i ? "," : "") + std::to_string(ranges[i].shard) + ":" +
            std::to_string(ranges[i].first) + "-" + std::to_string(ranges[i].last);
  return seed;
}

// Writes the files of one delivery (those that have records) and counts them.
::millrace::Status ConsumerRunner::WriteParts(uint64_t stream_id, const Pending& p,
                                              const FileParts& parts,
                                              objstore::ObjectStream* stream) {
  size_t data_objects = parts.good > 0;
  if (partitioned_) {
    // A file per partition, its UUID and time its own: the same on a redo.
    data_objects = 0;
    const std::string seed = SeedOf(stream_id, p.ranges);
    const std::string ext = formats::FileExtension(format_);
    std::vector<std::pair<std::string, const PartFile*>> files;  // (key, file)
    for (const PartFile& part : parts.partitions) {
      if (part.good == 0) continue;
      std::string canonical;
      for (const auto& [k, v] : part.values) canonical += k + "=" + v + "/";
      const std::string uuid = formats::DeterministicUuid(seed + "|" + canonical);
      formats::FileName name{consumer_.name, p.version, part.oldest_arrival_ms,
                             uuid,           ext,       zone_.get()};
      files.emplace_back(formats::CustomObjectKey(dataset_.key_prefix, name, &part.values), &part);
    }
    // Several at once: a file's cost is mostly waiting (its fsync and its folder's, or an S3
    // round trip), and a delivery may hold hundreds. Stores are thread-safe; the PostgreSQL
    // target's one connection is not, and takes no partitions' files anyway.
    const size_t threads =
        dataset_.target.type == "postgresql" ? 1 : std::min<size_t>(kParallelPuts, files.size());
    std::atomic<size_t> next{0};
    std::mutex failed_mu;
    ::millrace::Status failed;
    auto worker = [&] {
      for (size_t i; (i = next++) < files.size();) {
        ::millrace::Status st =
            WriteWithRetry(files[i].first, files[i].second->bytes, formats::ContentType(format_));
        if (!st.ok()) {
          std::lock_guard<std::mutex> l(failed_mu);
          if (failed.ok()) failed = st;
          next = files.size();  // the others stop; the delivery is redone
        }
      }
    };
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (std::thread& t : pool) t.join();
    MILLRACE_RETURN_IF_ERROR(failed);
    data_objects = files.size();
  } else if (parts.streamed || (pg_copy_ && parts.good > 0)) {
    // Binary COPY data or a stream: one try, then CSV text written whole (below).
    ::millrace::Status st =
        parts.streamed ? stream->Commit() : store_->Put(p.key, parts.bytes, DataContentType());
    if (!st.ok()) {
      // Committed or not (a lost answer), the file is made again from the log and written
      // whole under the same key, which the store makes idempotent, until it is.
      LOG(kWarn) << "delivery: " << consumer_.name << ": " << p.key << " to " << store_->Describe()
                 << ": " << st.ToString() << "; writing it again whole";
      pg_copy_ = false;  // as CSV text, which any table takes (binary COPY wants exact types)
      FileParts again;
      MILLRACE_RETURN_IF_ERROR(BuildFile(stream_id, p.ranges, {}, &again));
      if (again.good > 0)
        MILLRACE_RETURN_IF_ERROR(WriteWithRetry(p.key, again.bytes, DataContentType()));
    }
  } else if (parts.good > 0) {
    MILLRACE_RETURN_IF_ERROR(WriteWithRetry(p.key, parts.bytes, DataContentType()));
  }
  if (parts.conversion_failed > 0)
    MILLRACE_RETURN_IF_ERROR(
        WriteWithRetry(p.failed_key, parts.conversion_lines, "application/x-ndjson"));
  if (parts.processing_failed > 0 && !p.processing_failed_key.empty())
    MILLRACE_RETURN_IF_ERROR(
        WriteWithRetry(p.processing_failed_key, parts.processing_lines, "application/x-ndjson"));
  ConsumerCounters& c = *counters_;
  c.delivered += parts.good;
  c.dropped += parts.dropped;
  c.filtered += parts.filtered;
  c.conversion_failed += parts.conversion_failed;
  c.processing_failed += parts.processing_failed;
  c.objects += data_objects + (parts.conversion_failed > 0) + (parts.processing_failed > 0);
  return ::millrace::Status::Ok();
}

// One delivery: the buffer's records of every shard in one file (or one per partition),
// each shard's in order, shards by index. Exactly once: the intent is recorded, the files
// written, then every shard's checkpoint moves past them and the intent is cleared in one
// transaction; a stop in between redoes the same delivery (Redo).
::millrace::Status ConsumerRunner::Flush(uint64_t stream_id) {
  std::vector<Range> ranges;
  std::vector<std::vector<log::Record>> held;
  int64_t oldest_ms = 0;
  for (auto& [index, st] : shards_) {
    if (st.records == 0) continue;
    ranges.push_back({index, st.first, st.last});
    held.push_back(std::move(st.held));
    st.held.clear();  // a failed build reads them from the log again
    if (oldest_ms == 0 || st.oldest_arrival_ms < oldest_ms) oldest_ms = st.oldest_arrival_ms;
  }
  if (ranges.empty()) return ::millrace::Status::Ok();
  Pending p;
  p.ranges = ranges;
  auto name_files = [&] {
    const int64_t version = version_.load();
    if (partitioned_) p.version = version;  // a redo names the partitions' files the same
    const std::string uuid = formats::DeterministicUuid(SeedOf(stream_id, ranges));
    const std::string ext = formats::FileExtension(format_);
    formats::FileName name{consumer_.name, version, oldest_ms, uuid, ext, zone_.get()};
    p.key = formats::CustomObjectKey(dataset_.key_prefix, name);
    formats::FileName error_name{consumer_.name, version, oldest_ms, uuid, ".json", zone_.get()};
    p.failed_key = formats::CustomErrorKey(
        dataset_.error_prefix, formats::ErrorOutputType::kFormatConversionFailed, error_name);
    p.processing_failed_key = formats::CustomErrorKey(
        dataset_.error_prefix, formats::ErrorOutputType::kProcessingFailed, error_name);
  };
  // A store that takes the data file in pieces (a PostgreSQL COPY) loads it while it is
  // built; nothing of it is visible before its Commit, after the intent below. Inferring,
  // the schema and version may move in the build: the names are made after it then.
  std::unique_ptr<objstore::ObjectStream> stream;
  // A PostgreSQL table of the dataset's types takes binary COPY data, which it reads about
  // twice as fast as CSV text (formats/pg_copy.h).
  pg_copy_ = dataset_.target.type == "postgresql" && dataset_.file_type == "csv" &&
             format_.compression.empty() && !partitioned_ && !infer_ &&
             store_->Accepts(formats::kPgCopyContentType);
  if (!partitioned_ && !infer_) {
    name_files();
    auto started = store_->StartPut(p.key, DataContentType());
    if (!started.ok()) return started.status();
    stream = std::move(*started);
  }
  FileParts parts;
  MILLRACE_RETURN_IF_ERROR(BuildFile(stream_id, ranges, std::move(held), &parts, stream.get()));
  if (partitioned_ || infer_) name_files();
  // 1. The intent, durably: a crash from here on redoes exactly this delivery.
  catalog::CheckpointRow intent;
  intent.consumer = consumer_.name;
  intent.stream_id = stream_id;
  intent.shard_index = kDeliveryRow;
  intent.pending = PendingJson(p);
  MILLRACE_RETURN_IF_ERROR(deps_.catalog->PutCheckpoint(intent));
  // 2. The files.
  MILLRACE_RETURN_IF_ERROR(WriteParts(stream_id, p, parts, stream.get()));
  // 3. The checkpoints move past them, all at once.
  MILLRACE_RETURN_IF_ERROR(Commit(stream_id, p));
  for (const Range& r : ranges) {
    ShardState& st = shards_[r.shard];
    st.checkpoint = r.last + 1;
    st.records = 0;
  }
  buffer_bytes_ = 0;
  buffer_records_ = 0;
  if (parts.invocation_error.empty()) NoteSuccess();
  return ::millrace::Status::Ok();
}

bool ConsumerRunner::Pass() {
  auto view = deps_.streams->ViewStream(consumer_.stream);
  if (!view.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    status_.state = "WAITING";
    status_.last_error = view.status().message();
    return false;
  }
  if (view->id != stream_id_) {  // first pass, or the stream was deleted and created again
    shards_.clear();
    buffer_bytes_ = 0;
    buffer_records_ = 0;
    ::millrace::Status st = LoadCheckpoints(view->id);
    // A delivery a stop cut short is completed before anything is read.
    bool redone = false;
    for (const auto& [index, row] : saved_) {
      if (!st.ok() || row.pending.empty()) continue;
      st = Redo(view->id, index, row.pending);
      redone = true;
    }
    if (st.ok() && redone) st = LoadCheckpoints(view->id);
    if (!st.ok()) {
      NoteError(st);
      return false;  // the next pass tries again
    }
    stream_id_ = view->id;
  }
  const int64_t now_ms = deps_.clock->NowMillis();
  const int64_t now_ns = deps_.clock->MonotonicNanos();
  const size_t max_bytes = static_cast<size_t>(consumer_.buffer_size_mib) << 20;
  const int64_t interval_ns = static_cast<int64_t>(consumer_.buffer_interval_seconds) * 1000000000;
  bool worked = false;
  std::map<uint32_t, const streams::StreamManager::ShardView*> by_index;
  for (const auto& sv : view->shards) by_index[sv.index] = &sv;
  auto flush = [&]() {
    ::millrace::Status fs = Flush(stream_id_);
    if (!fs.ok()) NoteError(fs);
    worked = true;
    return fs.ok();
  };

  std::map<uint32_t, uint64_t> ends;  // where each shard read this pass ends
  for (const auto& sv : view->shards) {
    auto it = shards_.find(sv.index);
    if (it == shards_.end()) {
      ShardState st;
      st.index = sv.index;
      auto saved = saved_.find(sv.index);
      if (saved != saved_.end()) {
        st.checkpoint = saved->second.next_counter;
      } else {
        // A shard born after the consumer started (a child) starts at its beginning.
        bool child = sv.parent.has_value();
        st.checkpoint =
            (consumer_.starting_position == "LATEST" && !child) ? sv.durable_end : sv.trim_horizon;
        ::millrace::Status ss = SaveCheckpoint(stream_id_, st, "");
        if (!ss.ok()) {
          NoteError(ss);
          return false;
        }
      }
      st.next_read = st.checkpoint;
      it = shards_.emplace(sv.index, std::move(st)).first;
    }
    ShardState& st = it->second;
    // A closed shard ends at its end counter; records below it may still be on their way
    // to disk just after the close, so the durable end stands in only once the close is
    // long past (a write that failed after its counter was assigned leaves a gap).
    uint64_t end = sv.durable_end;
    if (!sv.open) {
      end = sv.end_exclusive;
      if (now_ms - sv.closed_ms > 10000) end = std::min(end, sv.durable_end);
    }
    ends[sv.index] = end;
    // Children wait until their parents are delivered to the end (order across reshards).
    bool parents_done = true;
    for (auto parent : {sv.parent, sv.adjacent_parent}) {
      if (!parent) continue;
      auto ps = shards_.find(*parent);
      if (by_index.count(*parent) && (ps == shards_.end() || !ps->second.done))
        parents_done = false;
    }
    if (!parents_done || st.done) continue;

    st.next_read = std::max(st.next_read, sv.trim_horizon);
    if (st.next_read < end) {
      if (buffer_bytes_ >= max_bytes && !flush()) return false;
      log::Journal::ReadResult rr;
      // What the buffer has room for (at least one record is read).
      const size_t room = std::min(kReadBytes, max_bytes - buffer_bytes_);
      ::millrace::Status rs =
          deps_.streams->ReadShard(stream_id_, sv.index, st.next_read, kReadRecords, room, &rr);
      if (!rs.ok()) {
        NoteError(rs);
        continue;
      }
      if (rr.records.empty()) st.next_read = std::max(st.next_read, rr.next_counter);
      // Counted before the records move into the buffer (the vector is empty after).
      worked = worked || !rr.records.empty();
      ExpandAggregated(&rr.records);
      SplitRecords(&rr.records, consumer_.deaggregation, consumer_.deaggregation_delimiter);
      // Held from the buffer's start, or not at all (after a failed build: read again then).
      const bool hold = st.records == 0 || !st.held.empty();
      for (const log::Record& r : rr.records) {
        if (st.records == 0) {
          st.first = r.counter;
          st.oldest_arrival_ms = r.arrival_ms;
        }
        if (buffer_records_ == 0) buffer_started_ns_ = now_ns;
        ++st.records;
        ++buffer_records_;
        buffer_bytes_ += r.data.size();
        st.last = r.counter;
        st.next_read = r.counter + 1;
      }
      if (hold && st.held.empty()) {
        st.held = std::move(rr.records);  // the usual case: one read per delivery
      } else if (hold) {
        st.held.insert(st.held.end(), std::make_move_iterator(rr.records.begin()),
                       std::make_move_iterator(rr.records.end()));
      }
    }
    const bool reached_end = !sv.open && st.next_read >= end;
    // A full buffer is written at once; so is a closed shard's last part (its children
    // wait for it).
    if ((buffer_bytes_ >= max_bytes || (reached_end && st.records > 0)) && !flush()) return false;
    if (reached_end && st.records == 0) st.done = true;
  }
  if (buffer_records_ > 0 && now_ns - buffer_started_ns_ >= interval_ns && !flush()) return false;

  std::vector<ShardLag> lags;
  uint64_t behind_total = 0;
  int64_t millis_total = 0;
  for (const auto& sv : view->shards) {
    const ShardState& st = shards_[sv.index];
    if (st.done) continue;
    ShardLag lag;
    lag.shard_id = streams::ShardIdOf(sv.index);
    uint64_t top = sv.open ? sv.durable_end : ends[sv.index];
    lag.records_behind = top > st.checkpoint ? top - st.checkpoint : 0;
    if (lag.records_behind > 0)
      lag.millis_behind = std::max<int64_t>(
          0, now_ms - (st.records > 0 ? st.oldest_arrival_ms : sv.last_arrival_ms));
    behind_total += lag.records_behind;
    millis_total = std::max(millis_total, lag.millis_behind);
    lags.push_back(lag);
  }
  std::lock_guard<std::mutex> l(mu_);
  if (status_.state != "FAILING") status_.state = "RUNNING";
  status_.shards = std::move(lags);
  status_.records_behind = behind_total;
  status_.millis_behind = millis_total;
  return worked;
}

}  // namespace millrace::delivery
