#include "delivery/consumer_runner.h"

#include <simdjson.h>

#include <algorithm>

#include "common/json_writer.h"
#include "common/logging.h"
#include "formats/failed_record.h"
#include "formats/naming.h"
#include "streams/sequence.h"

namespace millrace::delivery {
namespace {

constexpr size_t kReadRecords = 10000;
constexpr size_t kReadBytes = 4u << 20;
constexpr int64_t kIdleWaitMs = 100;

// The pending delivery, as stored in the checkpoint row while a file is being written.
struct Pending {
  std::string key, failed_key;
  uint64_t first = 0, last = 0;
};

std::string PendingJson(const Pending& p) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("key");
  w.String(p.key);
  w.Key("failed_key");
  w.String(p.failed_key);
  w.Key("first");
  w.Uint(p.first);
  w.Key("last");
  w.Uint(p.last);
  w.EndObject();
  return out;
}

bool ParsePending(const std::string& json, Pending* p) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) return false;
  std::string_view key, failed;
  uint64_t first, last;
  if (doc["key"].get(key) || doc["failed_key"].get(failed) || doc["first"].get(first) ||
      doc["last"].get(last))
    return false;
  p->key = std::string(key);
  p->failed_key = std::string(failed);
  p->first = first;
  p->last = last;
  return true;
}

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
                               int64_t version)
    : deps_(std::move(deps)),
      consumer_(std::move(consumer)),
      dataset_(std::move(dataset)),
      version_(version),
      format_{dataset_.file_type, dataset_.compression} {
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
  s.records_delivered = delivered_.load();
  s.objects_written = objects_.load();
  s.records_failed = failed_.load();
  return s;
}

void ConsumerRunner::NoteError(const ::millrace::Status& st) {
  std::lock_guard<std::mutex> l(mu_);
  status_.state = "FAILING";
  status_.last_error = st.ToString();
}

::millrace::Status ConsumerRunner::OpenStore() {
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
    auto s = objstore::NewLocalStore(deps_.data_dir + "/datasets/" + dataset_.name);
    if (!s.ok()) return s.status();
    store_ = std::move(*s);
  }
  return ::millrace::Status::Ok();
}

void ConsumerRunner::Run() {
  ::millrace::Status st = OpenStore();
  int64_t backoff_ms = kIdleWaitMs;
  for (;;) {
    bool worked = false;
    if (!st.ok()) {
      NoteError(st);
      st = OpenStore();
    } else {
      worked = Pass();
    }
    std::unique_lock<std::mutex> l(mu_);
    if (stopping_) return;
    if (!worked) cv_.wait_for(l, std::chrono::milliseconds(backoff_ms));
    if (stopping_) return;
    backoff_ms =
        status_.state == "FAILING" ? std::min<int64_t>(backoff_ms * 2, 30000) : kIdleWaitMs;
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
  int64_t backoff = 100;
  for (;;) {
    ::millrace::Status st = store_->Put(key, bytes, content_type);
    if (st.ok()) return st;
    NoteError(st);
    LOG(kWarn) << "delivery: " << consumer_.name << ": writing " << key << " to "
               << store_->Describe() << " failed: " << st.ToString() << "; retrying in " << backoff
               << " ms";
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::milliseconds(backoff), [&] { return stopping_; });
    if (stopping_) return ::millrace::Status::Unavailable("stopping");
    backoff = std::min<int64_t>(backoff * 2, 30000);
  }
}

// Builds the file of records [first, last] of a shard: the writer's bytes and the
// format-conversion-failed lines. Deterministic, so a redo writes the same bytes.
static ::millrace::Status BuildFile(streams::StreamManager* streams, uint64_t stream_id,
                                    uint32_t shard, uint64_t first, uint64_t last,
                                    const formats::FormatSpec& format, std::string* bytes,
                                    std::string* failed_lines, size_t* good, size_t* bad,
                                    int64_t* oldest_arrival, int64_t now_ms) {
  auto writer = formats::NewWriter(format);
  if (!writer.ok()) return writer.status();
  *good = *bad = 0;
  *oldest_arrival = 0;
  uint64_t at = first;
  std::string shard_id = streams::ShardIdOf(shard);
  while (at <= last) {
    log::Journal::ReadResult rr;
    MILLRACE_RETURN_IF_ERROR(
        streams->ReadShard(stream_id, shard, at, kReadRecords, kReadBytes, &rr));
    if (rr.records.empty()) break;
    for (const log::Record& r : rr.records) {
      if (r.counter > last) break;
      if (*oldest_arrival == 0) *oldest_arrival = r.arrival_ms;
      std::string seq = streams::EncodeSequence(stream_id, shard, r.counter);
      formats::InputRecord in{r.data, r.partition_key, r.arrival_ms, seq, shard_id};
      ::millrace::Status st = (*writer)->Add(in);
      if (st.ok()) {
        ++*good;
      } else {
        ++*bad;
        AppendConversionFailure(r, st.message(), now_ms, seq, shard_id, failed_lines);
      }
    }
    if (rr.records.back().counter >= last) break;
    at = rr.records.back().counter + 1;
  }
  auto out = (*writer)->Finish();
  if (!out.ok()) return out.status();
  *bytes = std::move(*out);
  return ::millrace::Status::Ok();
}

::millrace::Status ConsumerRunner::Redo(uint64_t stream_id, ShardState& st,
                                        const std::string& pending_json) {
  Pending p;
  if (!ParsePending(pending_json, &p))
    return ::millrace::Status::Corruption("unreadable pending delivery for " + consumer_.name);
  std::string bytes, failed;
  size_t good = 0, bad = 0;
  int64_t oldest = 0;
  MILLRACE_RETURN_IF_ERROR(BuildFile(deps_.streams, stream_id, st.index, p.first, p.last, format_,
                                     &bytes, &failed, &good, &bad, &oldest,
                                     deps_.clock->NowMillis()));
  LOG(kInfo) << "delivery: " << consumer_.name << ": completing the delivery of "
             << streams::ShardIdOf(st.index) << " records " << p.first << ".." << p.last
             << " cut short by a stop (" << p.key << ")";
  if (good > 0)
    MILLRACE_RETURN_IF_ERROR(WriteWithRetry(p.key, bytes, formats::ContentType(format_)));
  if (bad > 0)
    MILLRACE_RETURN_IF_ERROR(WriteWithRetry(p.failed_key, failed, "application/x-ndjson"));
  st.checkpoint = p.last + 1;
  MILLRACE_RETURN_IF_ERROR(SaveCheckpoint(stream_id, st, ""));
  delivered_ += good;
  failed_ += bad;
  objects_ += (good > 0) + (bad > 0);
  return ::millrace::Status::Ok();
}

::millrace::Status ConsumerRunner::Flush(uint64_t stream_id, ShardState& st) {
  if (st.records == 0) return ::millrace::Status::Ok();
  const int64_t now = deps_.clock->NowMillis();
  std::string seed = consumer_.name + "/" + std::to_string(stream_id) + "/" +
                     std::to_string(st.index) + "/" + std::to_string(st.first) + "-" +
                     std::to_string(st.last);
  std::string uuid = formats::DeterministicUuid(seed);
  Pending p;
  p.first = st.first;
  p.last = st.last;
  const std::string ext = formats::FileExtension(format_);
  formats::FileName name{consumer_.name, version_, st.oldest_arrival_ms, uuid, ext};
  p.key = formats::DataObjectKey("", name);
  formats::FileName failed_name{consumer_.name, version_, st.oldest_arrival_ms, uuid, ".json"};
  p.failed_key =
      formats::ErrorObjectKey("", formats::ErrorOutputType::kFormatConversionFailed, failed_name);
  auto bytes = st.writer->Finish();
  st.writer.reset();
  if (!bytes.ok()) return bytes.status();
  size_t good = st.records - st.failed_count;
  // 1. The intent, durably: a crash from here on redoes exactly this file.
  MILLRACE_RETURN_IF_ERROR(SaveCheckpoint(stream_id, st, PendingJson(p)));
  // 2. The files.
  if (good > 0)
    MILLRACE_RETURN_IF_ERROR(WriteWithRetry(p.key, *bytes, formats::ContentType(format_)));
  if (st.failed_count > 0)
    MILLRACE_RETURN_IF_ERROR(WriteWithRetry(p.failed_key, st.failed_lines, "application/x-ndjson"));
  // 3. The checkpoint moves past them.
  st.checkpoint = st.last + 1;
  MILLRACE_RETURN_IF_ERROR(SaveCheckpoint(stream_id, st, ""));
  delivered_ += good;
  failed_ += st.failed_count;
  objects_ += (good > 0) + (st.failed_count > 0);
  st.records = 0;
  st.failed_count = 0;
  st.failed_lines.clear();
  (void)now;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (status_.state == "FAILING") status_.state = "RUNNING";
  }
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
    stream_id_ = view->id;
    shards_.clear();
    ::millrace::Status st = LoadCheckpoints(stream_id_);
    if (!st.ok()) {
      NoteError(st);
      return false;
    }
  }
  const int64_t now_ms = deps_.clock->NowMillis();
  const int64_t now_ns = deps_.clock->MonotonicNanos();
  const size_t max_bytes = static_cast<size_t>(consumer_.buffer_size_mib) << 20;
  const int64_t interval_ns = static_cast<int64_t>(consumer_.buffer_interval_seconds) * 1000000000;
  bool worked = false;
  std::map<uint32_t, const streams::StreamManager::ShardView*> by_index;
  for (const auto& sv : view->shards) by_index[sv.index] = &sv;

  std::vector<ShardLag> lags;
  uint64_t behind_total = 0;
  int64_t millis_total = 0;
  for (const auto& sv : view->shards) {
    auto it = shards_.find(sv.index);
    if (it == shards_.end()) {
      ShardState st;
      st.index = sv.index;
      auto saved = saved_.find(sv.index);
      if (saved != saved_.end()) {
        st.checkpoint = saved->second.next_counter;
        if (!saved->second.pending.empty()) {
          ::millrace::Status rs = Redo(stream_id_, st, saved->second.pending);
          if (!rs.ok()) {
            NoteError(rs);
            return false;
          }
        }
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
    // A closed shard ends at its end counter; records below it may still be on their way
    // to disk just after the close, so the durable end stands in only once the close is
    // long past (a write that failed after its counter was assigned leaves a gap).
    uint64_t end = sv.durable_end;
    if (!sv.open) {
      end = sv.end_exclusive;
      if (now_ms - sv.closed_ms > 10000) end = std::min(end, sv.durable_end);
    }
    if (st.next_read < end) {
      log::Journal::ReadResult rr;
      ::millrace::Status rs = deps_.streams->ReadShard(stream_id_, sv.index, st.next_read,
                                                       kReadRecords, kReadBytes, &rr);
      if (!rs.ok()) {
        NoteError(rs);
        continue;
      }
      std::string shard_id = streams::ShardIdOf(sv.index);
      for (const log::Record& r : rr.records) {
        if (!st.writer) {
          auto w = formats::NewWriter(format_);
          if (!w.ok()) {
            NoteError(w.status());
            return false;
          }
          st.writer = std::move(*w);
          st.first = r.counter;
          st.oldest_arrival_ms = r.arrival_ms;
          st.buffer_started_ns = now_ns;
        }
        std::string seq = streams::EncodeSequence(stream_id_, sv.index, r.counter);
        formats::InputRecord in{r.data, r.partition_key, r.arrival_ms, seq, shard_id};
        ::millrace::Status as = st.writer->Add(in);
        if (!as.ok()) {
          st.failed_count++;
          AppendConversionFailure(r, as.message(), now_ms, seq, shard_id, &st.failed_lines);
        }
        st.records++;
        st.last = r.counter;
        st.next_read = r.counter + 1;
      }
      if (rr.records.empty()) st.next_read = std::max(st.next_read, rr.next_counter);
      worked = worked || !rr.records.empty();
    }
    const bool reached_end = !sv.open && st.next_read >= end;
    const bool full = st.writer && st.writer->BufferedBytes() >= max_bytes;
    const bool due = st.records > 0 && now_ns - st.buffer_started_ns >= interval_ns;
    if (st.records > 0 && (full || due || reached_end)) {
      ::millrace::Status fs = Flush(stream_id_, st);
      if (!fs.ok()) {
        NoteError(fs);
        return false;
      }
      worked = true;
    }
    if (reached_end && st.records == 0) st.done = true;

    ShardLag lag;
    lag.shard_id = streams::ShardIdOf(sv.index);
    uint64_t top = sv.open ? sv.durable_end : end;
    lag.records_behind = top > st.checkpoint ? top - st.checkpoint : 0;
    if (lag.records_behind > 0)
      lag.millis_behind = std::max<int64_t>(
          0, now_ms - (st.records > 0 ? st.oldest_arrival_ms : sv.last_arrival_ms));
    behind_total += lag.records_behind;
    millis_total = std::max(millis_total, lag.millis_behind);
    lags.push_back(lag);
  }
  std::lock_guard<std::mutex> l(mu_);
  if (status_.state != "FAILING") {
    status_.state = "RUNNING";
    status_.last_error.clear();
  }
  status_.shards = std::move(lags);
  status_.records_behind = behind_total;
  status_.millis_behind = millis_total;
  return worked;
}

}  // namespace millrace::delivery
