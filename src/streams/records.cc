// StreamManager: writing records, shard iterators and reading records.
#include <algorithm>
#include <ctime>

#include "common/encoding.h"
#include "common/logging.h"
#include "common/time_format.h"
#include "streams/iterator.h"
#include "streams/manager.h"
#include "streams/sequence.h"

namespace millrace::streams {

namespace {

constexpr size_t kMaxGetRecordsBytes = 10u << 20;

// An AppendOp that reports each accepted record's counter back into the caller's outcomes.
class PutOp final : public log::AppendOp {
 public:
  PutOp(std::vector<PutOutcome> outcomes, std::vector<size_t> positions,
        StreamManager::PutDone done, const std::function<void()>* durable_listener)
      : outcomes_(std::move(outcomes)),
        positions_(std::move(positions)),
        done_(std::move(done)),
        durable_listener_(durable_listener) {}

  void Done(Status status) override {
    if (!status.ok()) {
      done_(status, {});
      return;
    }
    if (*durable_listener_) (*durable_listener_)();
    for (size_t i = 0; i < items.size(); ++i) {
      PutOutcome& o = outcomes_[positions_[i]];
      o.counter = items[i].counter;
    }
    done_(Status::Ok(), std::move(outcomes_));
  }

 private:
  std::vector<PutOutcome> outcomes_;
  std::vector<size_t> positions_;  // items[i] is the record at outcomes_[positions_[i]]
  StreamManager::PutDone done_;
  const std::function<void()>* durable_listener_;  // the manager's, which outlives the op
};

// "Thu Jan 22 01:22:02 UTC 2015", as AWS prints times in iterator messages.
std::string AmzUtcString(int64_t ms) { return FormatUtc(ms / 1000, "%a %b %d %H:%M:%S UTC %Y"); }

}  // namespace

void StreamManager::Put(std::shared_ptr<Stream> stream, std::vector<PutEntry> entries,
                        bool all_or_nothing, PutDone done, bool throttled) {
  std::shared_lock<std::shared_mutex> r(stream->mu);
  if (stream->status != StreamStatus::kActive && stream->status != StreamStatus::kUpdating) {
    done(Status::NotFound(NotFoundMessage(stream->name)), {});
    return;
  }
  std::shared_ptr<const log::SealKey> seal;
  if (!stream->seal_key_id.empty()) {
    // The stream's key must be usable now (KMSDisabledException, ... otherwise).
    if (!options_.keys) {
      done(Status::Internal("streams: a stream encrypted at rest, and no key store"), {});
      return;
    }
    auto key = options_.keys->SealKeyFor(stream->seal_key_id);
    if (!key.ok()) {
      done(key.status(), {});
      return;
    }
    seal = std::move(*key);
  }
  const bool throttle =
      throttled && options_.throttling && stream->mode == StreamMode::kProvisioned;
  const int64_t now_ns = clock_->MonotonicNanos();
  std::vector<PutOutcome> outcomes(entries.size());
  std::vector<size_t> positions;
  auto op_items = std::vector<log::AppendItem>();
  op_items.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    PutEntry& e = entries[i];
    uint128 key =
        e.explicit_hash_key ? *e.explicit_hash_key : HashKeyOfPartitionKey(e.partition_key);
    Shard* shard = stream->RouteHashKey(key);
    if (!shard) {  // cannot happen while open shards partition the key space
      outcomes[i].status =
          Status::Internal("no open shard holds hash key " + Uint128ToDecimal(key));
      if (all_or_nothing) {
        done(outcomes[i].status, {});
        return;
      }
      continue;
    }
    outcomes[i].shard_index = shard->index;
    outcomes[i].sealed = seal != nullptr;
    if (throttle) {
      std::lock_guard<std::mutex> t(shard->throttle_mu);
      double bytes = static_cast<double>(e.data.size() + e.partition_key.size());
      // Both limits are checked before either is taken from.
      if (!shard->write_records.Fits(1, now_ns) ||
          !shard->write_bytes.TryConsumeBurst(bytes, now_ns) ||
          !shard->write_records.TryConsume(1, now_ns)) {
        stream->write_throttles.fetch_add(1, std::memory_order_relaxed);
        shard->write_throttles.fetch_add(1, std::memory_order_relaxed);
        outcomes[i].status =
            Status::Throttled("Rate exceeded for shard " + shard->Id() + " in stream " +
                              stream->name + " under account " + options_.account_id + ".");
        if (all_or_nothing) {
          done(outcomes[i].status, {});
          return;
        }
        continue;
      }
    }
    stream->records_in.fetch_add(1, std::memory_order_relaxed);
    stream->bytes_in.fetch_add(e.data.size(), std::memory_order_relaxed);
    shard->records_in.fetch_add(1, std::memory_order_relaxed);
    shard->bytes_in.fetch_add(e.data.size(), std::memory_order_relaxed);
    log::AppendItem item;
    item.shard = shard->log;
    item.partition_key = std::move(e.partition_key);
    item.data = std::move(e.data);
    item.seal = seal;
    op_items.push_back(std::move(item));
    positions.push_back(i);
  }
  if (op_items.empty()) {
    done(Status::Ok(), std::move(outcomes));
    return;
  }
  auto op = std::make_unique<PutOp>(std::move(outcomes), std::move(positions), std::move(done),
                                    &durable_listener_);
  op->items = std::move(op_items);
  // Still under the shared lock: no shard can close between routing and counter assignment.
  journal_->Append(std::move(op));
}

Status StreamManager::CheckOrderingSequence(Stream& stream, const PutEntry& entry,
                                            std::string_view sequence) {
  const Status invalid = Status::InvalidArgument(
      "ExclusiveMinimumSequenceNumber " + std::string(Abbreviate(sequence, 128)) +
      " used in PutRecord on stream " + stream.name + " under account " + options_.account_id +
      " is invalid.");
  auto seq = DecodeSequence(sequence);
  if (!seq || seq->stream_id != stream.id) return invalid;  // not ours, or another stream's
  std::shared_lock<std::shared_mutex> r(stream.mu);
  Shard* target =
      stream.RouteHashKey(entry.explicit_hash_key ? *entry.explicit_hash_key
                                                  : HashKeyOfPartitionKey(entry.partition_key));
  if (!target) return Status::Ok();  // Put answers that case
  // The shard the record goes to, or one of its ancestors (ordering survives a reshard).
  std::vector<uint32_t> lineage = {target->index};
  for (size_t i = 0; i < lineage.size() && lineage.size() < 64; ++i) {
    if (lineage[i] == seq->shard_index) {
      Shard* owner = stream.FindShard(seq->shard_index);
      if (owner && seq->counter >= owner->log->DurableEnd()) return invalid;  // not yet written
      return Status::Ok();
    }
    if (Shard* s = stream.FindShard(lineage[i])) {
      if (s->parent) lineage.push_back(*s->parent);
      if (s->adjacent_parent) lineage.push_back(*s->adjacent_parent);
    }
  }
  return invalid;  // another shard's
}

std::optional<uint32_t> StreamManager::ShardIndexFor(Stream& stream,
                                                     std::string_view partition_key) {
  std::shared_lock<std::shared_mutex> r(stream.mu);
  Shard* shard = stream.RouteHashKey(HashKeyOfPartitionKey(partition_key));
  if (!shard) return std::nullopt;
  return shard->index;
}

Result<std::string> StreamManager::GetShardIterator(const std::string& name,
                                                    const IteratorRequest& req) {
  auto got = Get(name);
  if (!got.ok()) {
    auto index = ParseShardId(req.shard_id);
    if (got.status().code() != Code::kNotFound || !index) return got.status();
    return Status::NotFound("Shard " + ShardIdOf(*index) + " in stream " + name +
                            " under account " + options_.account_id + " does not exist");
  }
  Stream& s = **got;
  std::shared_lock<std::shared_mutex> r(s.mu);
  auto index = ParseShardId(req.shard_id);
  if (!index)
    return Status::NotFound("Could not find shard " + req.shard_id + " in stream " + name +
                            " under account " + options_.account_id + ".");
  Shard* shard = s.FindShard(*index);
  if (!shard || !ShardVisible(s, *shard))
    return Status::NotFound("Shard " + ShardIdOf(*index) + " in stream " + name +
                            " under account " + options_.account_id + " does not exist");
  if (s.status == StreamStatus::kCreating || s.status == StreamStatus::kDeleting)
    return Status::NotFound(NotFoundMessage(name));

  const bool wants_seq = req.type == "AT_SEQUENCE_NUMBER" || req.type == "AFTER_SEQUENCE_NUMBER";
  if (req.sequence_number && !wants_seq)
    return Status::InvalidArgument(
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
        "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
        "Request specified " +
        req.type + " and also a StartingSequenceNumber.");
  if (!req.sequence_number && wants_seq)
    return Status::InvalidArgument(
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
        "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
        "Request specified " +
        req.type + " and no StartingSequenceNumber.");

  const uint64_t horizon = TrimHorizon(s, *shard);
  const uint64_t end = shard->open() ? shard->log->DurableEnd() : shard->end_exclusive;
  uint64_t counter = horizon;
  const int64_t now = clock_->NowMillis();
  if (wants_seq) {
    auto seq = DecodeSequence(*req.sequence_number);
    if (!seq)
      return Status::InvalidArgument("StartingSequenceNumber " + *req.sequence_number +
                                     " used in GetShardIterator on shard " + shard->Id() +
                                     " in stream " + name + " under account " +
                                     options_.account_id + " is invalid.");
    if (seq->shard_index != shard->index)
      return Status::InvalidArgument(
          "Invalid StartingSequenceNumber. It encodes " + ShardIdOf(seq->shard_index) +
          ", while it was used in a call to a shard with " + shard->Id());
    if (seq->stream_id != s.id)
      return Status::InvalidArgument(
          "StartingSequenceNumber " + *req.sequence_number + " used in GetShardIterator on shard " +
          shard->Id() + " in stream " + name + " under account " + options_.account_id +
          " is invalid because it did not come from this stream.");
    counter = seq->counter + (req.type == "AFTER_SEQUENCE_NUMBER" ? 1 : 0);
    counter = std::max(counter, horizon);
  } else if (req.type == "LATEST") {
    counter = end;
  } else if (req.type == "AT_TIMESTAMP") {
    if (!req.timestamp_ms)
      return Status::InvalidArgument(
          "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current "
          "request has no timestamp parameter.");
    if (*req.timestamp_ms > now)
      return Status::InvalidArgument(
          "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
          "timestampInMillis: " +
          std::to_string(*req.timestamp_ms) + ", currentTimestampInMillis: " + std::to_string(now));
    counter = std::max(horizon, shard->log->FrameCounterAtOrAfter(*req.timestamp_ms));
    // Refine within the frame: the first record that arrived at or after the timestamp.
    log::Journal::ReadResult rr;
    MILLRACE_RETURN_IF_ERROR(journal_->Read(shard->log, counter, 10000, 1u << 30, &rr));
    uint64_t found = rr.next_counter;
    for (const log::Record& rec : rr.records) {
      if (rec.arrival_ms >= *req.timestamp_ms) {
        found = rec.counter;
        break;
      }
    }
    counter = rr.records.empty() ? counter : found;
  }
  IteratorState st{s.id, shard->index, counter, now};
  return EncodeIterator(st, iterator_key_);
}

std::shared_ptr<Stream> StreamManager::FindById(uint64_t stream_id) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [name, s] : streams_)
    if (s->id == stream_id) return s;
  return nullptr;
}

Result<std::string> StreamManager::StreamNameOfIterator(const std::string& iterator) {
  auto st = DecodeIterator(iterator, iterator_key_);
  if (!st) return Status::InvalidArgument("Invalid ShardIterator.");
  if (auto stream = FindById(st->stream_id)) return stream->name;
  return Status::NotFound("Shard " + ShardIdOf(st->shard_index) +
                          " in stream (deleted) under account " + options_.account_id +
                          " does not exist");
}

Result<GetRecordsResult> StreamManager::GetRecords(const std::string& iterator, int limit,
                                                   bool shared_throughput) {
  auto st = DecodeIterator(iterator, iterator_key_);
  if (!st) return Status::InvalidArgument("Invalid ShardIterator.");
  const int64_t now = clock_->NowMillis();
  if (now - st->created_ms > kIteratorTtlMs)
    return Status::Expired("Iterator expired. The iterator was created at time " +
                           AmzUtcString(st->created_ms) + " while right now it is " +
                           AmzUtcString(now) +
                           " which is further in the future than the tolerated delay of 300000 "
                           "milliseconds.");
  std::shared_ptr<Stream> stream;
  stream = FindById(st->stream_id);
  if (!stream)
    return Status::NotFound("Shard " + ShardIdOf(st->shard_index) +
                            " in stream (deleted) under account " + options_.account_id +
                            " does not exist");
  std::shared_lock<std::shared_mutex> r(stream->mu);
  Shard* shard = stream->FindShard(st->shard_index);
  if (!shard || !ShardVisible(*stream, *shard) || stream->status == StreamStatus::kDeleting)
    return Status::NotFound("Shard " + ShardIdOf(st->shard_index) + " in stream " + stream->name +
                            " under account " + options_.account_id + " does not exist");

  const bool throttle =
      shared_throughput && options_.throttling && stream->mode == StreamMode::kProvisioned;
  const int64_t now_ns = clock_->MonotonicNanos();
  if (throttle) {
    std::lock_guard<std::mutex> t(shard->throttle_mu);
    if (!shard->read_bytes.Available(now_ns) || !shard->read_calls.TryConsume(1, now_ns)) {
      stream->read_throttles.fetch_add(1, std::memory_order_relaxed);
      shard->read_throttles.fetch_add(1, std::memory_order_relaxed);
      return Status::Throttled("Rate exceeded for Shard - " + shard->Id() + " in stream " +
                               stream->name + " under account " + options_.account_id + ".");
    }
  }

  GetRecordsResult out;
  out.shard_index = shard->index;
  uint64_t from = std::max(st->counter, TrimHorizon(*stream, *shard));
  const uint64_t durable_now = shard->log->DurableEnd();
  uint64_t end = shard->open() ? durable_now : shard->end_exclusive;
  // A write that failed after its counter was assigned leaves a gap at a closed shard's
  // end that will never fill: once the close is long past, the durable end is the end.
  if (!shard->open() && shard->closed_ms && now - *shard->closed_ms > 10000)
    end = std::min(end, durable_now);
  log::Journal::ReadResult rr;
  if (from < end) {
    MILLRACE_RETURN_IF_ERROR(
        journal_->Read(shard->log, from, static_cast<size_t>(limit), kMaxGetRecordsBytes, &rr));
    // A closed shard's records end at its ending counter.
    while (!rr.records.empty() && rr.records.back().counter >= end) rr.records.pop_back();
    from = rr.records.empty() ? std::max(from, std::min(rr.next_counter, end))
                              : rr.records.back().counter + 1;
  }
  if (throttle && rr.bytes > 0) {
    std::lock_guard<std::mutex> t(shard->throttle_mu);
    shard->read_bytes.Consume(static_cast<double>(rr.bytes), now_ns);
  }
  stream->records_out.fetch_add(rr.records.size(), std::memory_order_relaxed);
  stream->bytes_out.fetch_add(rr.bytes, std::memory_order_relaxed);
  shard->records_out.fetch_add(rr.records.size(), std::memory_order_relaxed);
  shard->bytes_out.fetch_add(rr.bytes, std::memory_order_relaxed);
  out.records = std::move(rr.records);
  if (from < std::min(end, durable_now)) {
    int64_t newest = shard->log->LastArrival();
    int64_t at = out.records.empty() ? newest : out.records.back().arrival_ms;
    out.millis_behind = std::max<int64_t>(0, now - at);
  }
  if (!shard->open() && from >= end) {
    for (const auto& c : stream->shards)
      if (c->parent == shard->index || c->adjacent_parent == shard->index)
        out.child_shards.push_back(c.get());
  } else {
    out.next_iterator =
        EncodeIterator(IteratorState{stream->id, shard->index, from, now}, iterator_key_);
  }
  out.next_counter = from;
  shard->iterator_age_ms.store(out.millis_behind, std::memory_order_relaxed);
  r.unlock();
  out.stream = std::move(stream);
  return out;
}

Result<StreamManager::StreamView> StreamManager::ViewStream(const std::string& name) {
  auto got = Get(name);
  if (!got.ok()) return got.status();
  const Stream& s = **got;
  std::shared_lock<std::shared_mutex> r(s.mu);
  if (s.status == StreamStatus::kCreating || s.status == StreamStatus::kDeleting)
    return Status::NotFound(NotFoundMessage(name));
  StreamView v;
  v.id = s.id;
  for (const auto& sh : s.shards) {
    if (!ShardVisible(s, *sh)) continue;
    ShardView sv;
    sv.index = sh->index;
    sv.parent = sh->parent;
    sv.adjacent_parent = sh->adjacent_parent;
    sv.open = sh->open();
    sv.starting_counter = sh->starting_counter;
    sv.end_exclusive = sh->end_exclusive;
    sv.closed_ms = sh->closed_ms.value_or(0);
    sv.trim_horizon = TrimHorizon(s, *sh);
    sv.durable_end = sh->log->DurableEnd();
    sv.last_arrival_ms = sh->log->LastArrival();
    v.shards.push_back(sv);
  }
  return v;
}

Status StreamManager::ReadShard(uint64_t stream_id, uint32_t shard_index, uint64_t from,
                                size_t max_records, size_t max_bytes,
                                log::Journal::ReadResult* out) {
  std::shared_ptr<Stream> stream;
  stream = FindById(stream_id);
  if (!stream) return Status::NotFound("stream " + std::to_string(stream_id) + " is gone");
  std::shared_lock<std::shared_mutex> r(stream->mu);
  Shard* shard = stream->FindShard(shard_index);
  if (!shard) return Status::NotFound("shard " + ShardIdOf(shard_index) + " is gone");
  from = std::max(from, TrimHorizon(*stream, *shard));
  MILLRACE_RETURN_IF_ERROR(journal_->Read(shard->log, from, max_records, max_bytes, out));
  if (!shard->open()) {
    while (!out->records.empty() && out->records.back().counter >= shard->end_exclusive)
      out->records.pop_back();
  }
  return Status::Ok();
}

std::string StreamManager::Metrics() {
  std::string out;
  auto family = [&](const char* name, const char* help, const char* type) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto streams = List();
  struct Def {
    const char* name;
    const char* help;
    std::atomic<uint64_t> Stream::*field;
  };
  const Def defs[] = {
      {"millrace_stream_records_in_total", "Records accepted by PutRecord/PutRecords.",
       &Stream::records_in},
      {"millrace_stream_bytes_in_total", "Record data bytes accepted.", &Stream::bytes_in},
      {"millrace_stream_records_out_total", "Records returned by GetRecords.",
       &Stream::records_out},
      {"millrace_stream_bytes_out_total", "Record data bytes returned by GetRecords.",
       &Stream::bytes_out},
      {"millrace_stream_write_throttles_total", "Records refused by the per-shard write limits.",
       &Stream::write_throttles},
      {"millrace_stream_read_throttles_total",
       "GetRecords calls refused by the per-shard read limits.", &Stream::read_throttles},
  };
  for (const Def& d : defs) {
    family(d.name, d.help, "counter");
    for (auto& s : streams)
      out += std::string(d.name) + "{stream=\"" + s->name + "\"} " +
             std::to_string(((*s).*(d.field)).load(std::memory_order_relaxed)) + "\n";
  }
  family("millrace_stream_open_shards", "Open shards per stream.", "gauge");
  for (auto& s : streams) {
    std::shared_lock<std::shared_mutex> r(s->mu);
    out += "millrace_stream_open_shards{stream=\"" + s->name + "\"} " +
           std::to_string(s->OpenShardCount()) + "\n";
  }
  // Shard-level metrics, for the streams and metrics EnableEnhancedMonitoring turned on
  // (named after CloudWatch's: IncomingBytes -> millrace_shard_incoming_bytes_total).
  struct ShardDef {
    const char* name;
    const char* help;
    std::atomic<uint64_t> Shard::*field;  // null: the iterator age gauge
  };
  const ShardDef shard_defs[] = {
      {"millrace_shard_incoming_bytes_total", "Record data bytes accepted by the shard.",
       &Shard::bytes_in},
      {"millrace_shard_incoming_records_total", "Records accepted by the shard.",
       &Shard::records_in},
      {"millrace_shard_outgoing_bytes_total", "Record data bytes read from the shard.",
       &Shard::bytes_out},
      {"millrace_shard_outgoing_records_total", "Records read from the shard.",
       &Shard::records_out},
      {"millrace_shard_write_provisioned_throughput_exceeded_total",
       "Records refused by the shard's write limits.", &Shard::write_throttles},
      {"millrace_shard_read_provisioned_throughput_exceeded_total",
       "GetRecords calls refused by the shard's read limits.", &Shard::read_throttles},
      {"millrace_shard_iterator_age_milliseconds", "MillisBehindLatest of the shard's last read.",
       nullptr},
  };
  for (size_t i = 0; i < std::size(shard_defs); ++i) {
    const ShardDef& d = shard_defs[i];
    bool header = false;
    for (auto& s : streams) {
      std::shared_lock<std::shared_mutex> r(s->mu);
      if ((s->shard_metrics & (1u << i)) == 0) continue;
      if (!header) family(d.name, d.help, d.field ? "counter" : "gauge");
      header = true;
      for (const auto& sh : s->shards) {
        const int64_t v =
            d.field ? static_cast<int64_t>(((*sh).*(d.field)).load()) : sh->iterator_age_ms.load();
        out += std::string(d.name) + "{stream=\"" + s->name + "\",shard=\"" + sh->Id() + "\"} " +
               std::to_string(v) + "\n";
      }
    }
  }
  log::JournalStats js = journal_->Stats();
  family("millrace_log_bytes", "Bytes in the log's segments.", "gauge");
  out += "millrace_log_bytes " + std::to_string(js.bytes) + "\n";
  family("millrace_log_segments", "Segments in the log.", "gauge");
  out += "millrace_log_segments " + std::to_string(js.segments) + "\n";
  family("millrace_log_commits_total", "Group commits (one write and one fdatasync each).",
         "counter");
  out += "millrace_log_commits_total " + std::to_string(js.commits) + "\n";
  family("millrace_log_corrupt_frames_total",
         "Frames that failed their checksum, reported and skipped.", "counter");
  out += "millrace_log_corrupt_frames_total " + std::to_string(js.corrupt_frames) + "\n";
  return out;
}

}  // namespace millrace::streams
