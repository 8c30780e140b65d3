// StreamManager: start-up, stream lifecycle, tags, limits, state transitions and retention.
// Resharding is in reshard.cc, records and iterators in records.cc.
#include "streams/manager.h"

#include <simdjson.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "common/crypto.h"
#include "common/encoding.h"
#include "common/logging.h"

namespace millrace::streams {

namespace {
StreamStatus ParseStatus(const std::string& s) {
  if (s == "CREATING") return StreamStatus::kCreating;
  if (s == "UPDATING") return StreamStatus::kUpdating;
  if (s == "DELETING") return StreamStatus::kDeleting;
  return StreamStatus::kActive;
}

catalog::StreamRow ToRow(const Stream& s) {
  catalog::StreamRow r;
  r.id = s.id;
  r.name = s.name;
  r.status = StatusName(s.status);
  r.created_ms = s.created_ms;
  r.status_changed_ms = s.status_changed_ms;
  r.retention_hours = s.retention_hours;
  r.mode = ModeName(s.mode);
  r.encryption_type = s.encryption_type;
  r.key_id = s.key_id;
  r.mode_changed_ms = s.mode_changed_ms;
  r.next_shard_index = s.next_shard_index;
  return r;
}

catalog::ShardRow ToRow(const Stream& st, const Shard& s) {
  catalog::ShardRow r;
  r.stream_id = st.id;
  r.shard_index = s.index;
  r.parent = s.parent;
  r.adjacent_parent = s.adjacent_parent;
  r.start_hash = Uint128ToDecimal(s.range.start);
  r.end_hash = Uint128ToDecimal(s.range.end);
  r.created_ms = s.created_ms;
  r.closed_ms = s.closed_ms;
  r.starting_counter = s.starting_counter;
  r.ending_counter = s.ending_counter;
  r.counter_floor = s.counter_floor;
  return r;
}
}  // namespace

StreamManager::StreamManager(ManagerOptions options)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : SystemClock::Default()),
      catalog_(options_.catalog) {}

Result<std::unique_ptr<StreamManager>> StreamManager::Open(ManagerOptions options) {
  if (!options.catalog) return Status::InvalidArgument("StreamManager needs a catalog");
  std::unique_ptr<StreamManager> m(new StreamManager(std::move(options)));
  log::JournalOptions jo;
  jo.dir = m->options_.data_dir + "/log";
  jo.segment_bytes = m->options_.segment_bytes;
  jo.sync = m->options_.sync;
  jo.clock = m->clock_;
  jo.keys = m->options_.keys;
  auto journal = log::Journal::Open(jo);
  if (!journal.ok()) return journal.status();
  m->journal_ = std::move(*journal);

  // The key that authenticates shard iterators survives restarts (iterators live 5 min).
  log::FileSystem* fs = log::FileSystem::Posix();
  std::string key_path = m->options_.data_dir + "/iterator.key";
  if (fs->Exists(key_path)) {
    auto k = log::ReadWholeFile(fs, key_path);
    if (!k.ok()) return k.status();
    m->iterator_key_ = *k;
  }
  if (m->iterator_key_.size() != 32) {
    m->iterator_key_.resize(32);
    crypto::RandomBytes(m->iterator_key_.data(), 32);
    MILLRACE_RETURN_IF_ERROR(
        log::WriteFileAtomically(fs, m->options_.data_dir, "iterator.key", m->iterator_key_));
  }
  MILLRACE_RETURN_IF_ERROR(m->Load());
  m->maint_thread_ = std::thread([p = m.get()] { p->MaintenanceLoop(); });
  return m;
}

StreamManager::~StreamManager() {
  {
    std::lock_guard<std::mutex> l(maint_mu_);
    stopping_ = true;
  }
  maint_cv_.notify_all();
  if (maint_thread_.joinable()) maint_thread_.join();
  journal_.reset();  // finishes queued appends before the streams go
}

Status StreamManager::Load() {
  auto rows = catalog_->ListStreams();
  if (!rows.ok()) return rows.status();
  for (const catalog::StreamRow& r : *rows) {
    auto s = std::make_shared<Stream>();
    s->id = r.id;
    s->name = r.name;
    s->status = ParseStatus(r.status);
    s->created_ms = r.created_ms;
    s->status_changed_ms = r.status_changed_ms;
    s->retention_hours = r.retention_hours;
    s->mode = r.mode == "ON_DEMAND" ? StreamMode::kOnDemand : StreamMode::kProvisioned;
    s->mode_changed_ms = r.mode_changed_ms;
    s->encryption_type = r.encryption_type;
    s->key_id = r.key_id;
    s->next_shard_index = r.next_shard_index;
    auto shards = catalog_->ListShards(r.id);
    if (!shards.ok()) return shards.status();
    for (const catalog::ShardRow& sr : *shards) {
      auto sh = std::make_unique<Shard>();
      sh->index = sr.shard_index;
      sh->parent = sr.parent;
      sh->adjacent_parent = sr.adjacent_parent;
      sh->range.start = ParseUint128Decimal(sr.start_hash).value_or(0);
      sh->range.end = ParseUint128Decimal(sr.end_hash).value_or(kUint128Max);
      sh->created_ms = sr.created_ms;
      sh->closed_ms = sr.closed_ms;
      sh->starting_counter = sr.starting_counter;
      sh->ending_counter = sr.ending_counter;
      sh->counter_floor = sr.counter_floor;
      sh->log =
          journal_->GetShard(s->id, sh->index, std::max(sr.counter_floor, sr.starting_counter));
      // After recovery every write that will ever reach a closed shard is on disk.
      if (sh->ending_counter)
        sh->end_exclusive = std::max(sh->log->DurableEnd(), sh->starting_counter);
      s->shards.push_back(std::move(sh));
    }
    s->RebuildRouting();
    streams_[s->name] = s;
  }
  // Settings (enhanced monitoring, maximum record size, warm throughput), by stream name; a
  // document of an older stream of that name is not this one's.
  if (auto docs = catalog_->ListDocs(catalog::DocKind::kStreamSettings); docs.ok()) {
    simdjson::dom::parser parser;
    for (const catalog::DocRow& d : *docs) {
      auto it = streams_.find(d.name);
      simdjson::dom::element doc;
      if (it == streams_.end() || parser.parse(d.spec).get(doc) != simdjson::SUCCESS) continue;
      auto num = [&doc](const char* key, int64_t otherwise) {
        int64_t v = 0;
        return doc[key].get(v) == simdjson::SUCCESS ? v : otherwise;
      };
      if (num("stream_created_ms", -1) != it->second->created_ms) continue;
      const int64_t bits = num("shard_metrics", 0), kib = num("max_record_kib", 0),
                    warm = num("warm_target_mibps", -1);
      Stream& s = *it->second;
      s.shard_metrics = static_cast<uint8_t>(bits & kAllShardMetrics);
      s.max_record_kib =
          static_cast<int>(std::clamp<int64_t>(kib, kDefaultMaxRecordKiB, kLargestMaxRecordKiB));
      if (warm >= 0) s.warm_target_mibps = static_cast<int>(warm);
      std::string_view seal_hex;
      std::string seal;
      if (s.encryption_type == "KMS" && doc["seal_key"].get(seal_hex) == simdjson::SUCCESS &&
          HexDecode(seal_hex, &seal) && seal.size() == 16)
        s.seal_key_id = std::move(seal);
    }
  }
  if (auto doc = catalog_->GetDoc(catalog::DocKind::kKinesisAccount, options_.account_id);
      doc.ok() && *doc) {
    std::lock_guard<std::mutex> l(commitment_mu_);
    if (sscanf((*doc)->spec.c_str(),
               "{\"started_ms\":%" SCNd64 ",\"earliest_end_ms\":%" SCNd64 ",\"ended_ms\":%" SCNd64
               "}",
               &commitment_.started_ms, &commitment_.earliest_end_ms, &commitment_.ended_ms) != 3)
      commitment_ = {};
  }
  LOG(kInfo) << "streams: loaded " << streams_.size() << " streams";
  return Status::Ok();
}

// "arn:aws:kinesis:us-east-1:000000000000:stream/name" -> name, if the account is ours.
std::optional<std::string> StreamNameFromArn(std::string_view arn, const std::string& account) {
  size_t slash = arn.find(":stream/");
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view head = arn.substr(0, slash);
  size_t colon = head.rfind(':');
  if (colon == std::string_view::npos || head.substr(colon + 1) != account) return std::nullopt;
  std::string_view name = arn.substr(slash + 8);
  size_t extra = name.find('/');  // ".../stream/name/consumer/..." names a consumer
  if (extra != std::string_view::npos) name = name.substr(0, extra);
  return std::string(name);
}

std::string StreamManager::StreamArn(const std::string& name, const std::string& region) const {
  return "arn:aws:kinesis:" + (region.empty() ? options_.region : region) + ":" +
         options_.account_id + ":stream/" + name;
}

std::string StreamManager::NotFoundMessage(const std::string& name) const {
  return "Stream " + name + " under account " + options_.account_id + " not found.";
}

// Applies a state transition whose time has come: CREATING and UPDATING become ACTIVE,
// DELETING streams disappear.
void StreamManager::Settle(const std::shared_ptr<Stream>& s) {
  int64_t now = clock_->NowMillis();
  {
    std::shared_lock<std::shared_mutex> r(s->mu);
    if (s->status == StreamStatus::kActive || now < s->status_changed_ms + options_.transition_ms)
      return;
  }
  std::unique_lock<std::shared_mutex> w(s->mu);
  if (s->status == StreamStatus::kActive || now < s->status_changed_ms + options_.transition_ms)
    return;
  if (s->status == StreamStatus::kDeleting) {
    Status st = catalog_->DeleteStream(s->id);
    if (!st.ok()) {
      LOG(kError) << "streams: could not delete stream " << s->name << ": " << st.ToString();
      return;
    }
    std::lock_guard<std::mutex> l(mu_);
    auto it = streams_.find(s->name);
    if (it != streams_.end() && it->second == s) streams_.erase(it);
    LOG(kInfo) << "streams: deleted stream " << s->name;
    return;
  }
  s->status = StreamStatus::kActive;
  s->status_changed_ms = now;
  Status st = catalog_->UpdateStream(ToRow(*s));
  if (!st.ok())
    LOG(kError) << "streams: could not persist state of " << s->name << ": " << st.ToString();
}

Result<std::shared_ptr<Stream>> StreamManager::Get(const std::string& name) {
  std::shared_ptr<Stream> s;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = streams_.find(name);
    if (it != streams_.end()) s = it->second;
  }
  if (!s) return Status::NotFound(NotFoundMessage(name));
  Settle(s);
  std::lock_guard<std::mutex> l(mu_);
  auto it = streams_.find(name);
  if (it == streams_.end() || it->second != s) return Status::NotFound(NotFoundMessage(name));
  return s;
}

std::vector<std::shared_ptr<Stream>> StreamManager::List() {
  std::vector<std::shared_ptr<Stream>> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [n, s] : streams_) all.push_back(s);
  }
  for (auto& s : all) Settle(s);
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::shared_ptr<Stream>> out;
  for (auto& [n, s] : streams_) out.push_back(s);
  return out;  // sorted by name (the map's order)
}

int StreamManager::OpenShardsTotal() {
  int n = 0;
  for (auto& s : List()) {
    std::shared_lock<std::shared_mutex> r(s->mu);
    n += s->OpenShardCount();
  }
  return n;
}

int StreamManager::OnDemandStreamCount() {
  int n = 0;
  for (auto& s : List()) {
    std::shared_lock<std::shared_mutex> r(s->mu);
    n += s->mode == StreamMode::kOnDemand ? 1 : 0;
  }
  return n;
}

Status StreamManager::CheckShardLimit(int additional) {
  int current = OpenShardsTotal();
  if (current + additional <= options_.shard_limit) return Status::Ok();
  return Status::ResourceExhausted(
      "This request would exceed the shard limit for the account " + options_.account_id + " in " +
      options_.region + ". Current shard count for the account: " + std::to_string(current) +
      ". Limit: " + std::to_string(options_.shard_limit) +
      ". Number of additional shards that would have resulted from this request: " +
      std::to_string(additional) + ". Refer to the AWS Service Limits page " +
      "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current "
      "limits and how to request higher limits.");
}

std::unique_ptr<Shard> StreamManager::NewShard(Stream& s, HashRange range,
                                               std::optional<uint32_t> parent,
                                               std::optional<uint32_t> adjacent) {
  auto sh = std::make_unique<Shard>();
  sh->index = s.next_shard_index++;
  sh->parent = parent;
  sh->adjacent_parent = adjacent;
  sh->range = range;
  sh->created_ms = clock_->NowMillis();
  sh->log = journal_->GetShard(s.id, sh->index, 0);
  sh->starting_counter = sh->log->DurableEnd();
  return sh;
}

Status StreamManager::CreateStream(const std::string& name, std::optional<int> shard_count,
                                   StreamMode mode, const std::vector<catalog::TagRow>& tags,
                                   const StreamLimits& limits) {
  int n = shard_count.value_or(4);  // ON_DEMAND streams start with 4 shards
  {
    std::lock_guard<std::mutex> l(mu_);
    if (streams_.count(name))
      return Status::FailedPrecondition("Stream " + name + " under account " + options_.account_id +
                                        " already exists.");
  }
  if (mode == StreamMode::kOnDemand && OnDemandStreamCount() >= options_.on_demand_stream_limit)
    return Status::ResourceExhausted(
        "This request would exceed the on-demand stream limit for the account " +
        options_.account_id + " in " + options_.region +
        ". Limit: " + std::to_string(options_.on_demand_stream_limit) + ".");
  MILLRACE_RETURN_IF_ERROR(CheckShardLimit(n));
  if (limits.warm_target_mibps) MILLRACE_RETURN_IF_ERROR(CheckWarmThroughput(name, mode));
  auto id = catalog_->NextStreamId();
  if (!id.ok()) return id.status();

  auto s = std::make_shared<Stream>();
  s->id = *id;
  s->name = name;
  s->status = options_.transition_ms > 0 ? StreamStatus::kCreating : StreamStatus::kActive;
  s->created_ms = clock_->NowMillis();
  s->status_changed_ms = s->created_ms;
  s->mode = mode;
  s->mode_changed_ms = s->created_ms;
  s->max_record_kib = limits.max_record_kib;
  s->warm_target_mibps = limits.warm_target_mibps;
  std::vector<catalog::ShardRow> rows;
  for (const HashRange& r : EvenRanges(n)) {
    s->shards.push_back(NewShard(*s, r, std::nullopt, std::nullopt));
    rows.push_back(ToRow(*s, *s->shards.back()));
  }
  s->RebuildRouting();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (streams_.count(name))
      return Status::FailedPrecondition("Stream " + name + " under account " + options_.account_id +
                                        " already exists.");
    MILLRACE_RETURN_IF_ERROR(catalog_->CreateStream(ToRow(*s), rows));
    streams_[name] = s;
  }
  if (!tags.empty()) MILLRACE_RETURN_IF_ERROR(catalog_->PutTags(s->id, tags));
  if (s->max_record_kib != kDefaultMaxRecordKiB || s->warm_target_mibps) {
    std::shared_lock<std::shared_mutex> r(s->mu);
    MILLRACE_RETURN_IF_ERROR(PersistSettings(*s));
  }
  LOG(kInfo) << "streams: created stream " << name << " with " << n << " shards (" << ModeName(mode)
             << ")";
  return Status::Ok();
}

Status StreamManager::DeleteStream(const std::string& name) {
  auto s = Get(name);
  if (!s.ok()) return s.status();
  std::unique_lock<std::shared_mutex> w((*s)->mu);
  if ((*s)->status == StreamStatus::kDeleting) return Status::Ok();
  (*s)->status = StreamStatus::kDeleting;
  (*s)->status_changed_ms = clock_->NowMillis();
  MILLRACE_RETURN_IF_ERROR(catalog_->UpdateStream(ToRow(**s)));
  w.unlock();
  if (options_.transition_ms <= 0) Settle(*s);
  return Status::Ok();
}

Result<std::pair<uint8_t, uint8_t>> StreamManager::SetShardMetrics(const std::string& name,
                                                                   uint8_t bits, bool enable) {
  auto s = Get(name);
  if (!s.ok()) return s.status();
  std::unique_lock<std::shared_mutex> w((*s)->mu);
  MILLRACE_RETURN_IF_ERROR(CheckActiveForUpdate(**s));
  const uint8_t before = (*s)->shard_metrics;
  const uint8_t after = enable ? (before | bits) : (before & ~bits);
  if (after != before) {
    (*s)->shard_metrics = after;
    if (Status st = PersistSettings(**s); !st.ok()) {
      (*s)->shard_metrics = before;
      return st;
    }
  }
  return std::make_pair(before, after);
}

Status StreamManager::CheckWarmThroughput(const std::string& name, StreamMode mode) {
  if (mode != StreamMode::kOnDemand)
    return Status::InvalidArgument(
        "Warm throughput can only be configured for streams in "
        "ON_DEMAND mode. Stream " +
        name + " under account " + options_.account_id + " is in PROVISIONED mode.");
  if (!GetBillingCommitment().Enabled(clock_->NowMillis()))
    return Status::InvalidArgument(
        "Warm throughput requires the account's MinimumThroughputBillingCommitment to be "
        "ENABLED (UpdateAccountSettings).");
  return Status::Ok();
}

const char* BillingCommitment::Status(int64_t now_ms) const {
  if (started_ms == 0 || (ended_ms != 0 && now_ms >= ended_ms)) return "DISABLED";
  return ended_ms != 0 ? "ENABLED_UNTIL_EARLIEST_ALLOWED_END" : "ENABLED";
}

BillingCommitment StreamManager::GetBillingCommitment() {
  std::lock_guard<std::mutex> l(commitment_mu_);
  return commitment_;
}

Result<BillingCommitment> StreamManager::SetBillingCommitment(bool enable) {
  std::lock_guard<std::mutex> l(commitment_mu_);
  const int64_t now = clock_->NowMillis();
  BillingCommitment c = commitment_;
  const std::string status = c.Status(now);
  if (enable) {
    if (status == "DISABLED") c = {now, now + kMinimumCommitmentMs, 0};  // a new commitment
    c.ended_ms = 0;  // or a scheduled end cancelled
  } else if (status == "ENABLED") {
    // Before the 24 hours are up the end is scheduled for their end, as AWS does.
    c.ended_ms = std::max(now, c.earliest_end_ms);
  }
  const std::string spec = "{\"started_ms\":" + std::to_string(c.started_ms) +
                           ",\"earliest_end_ms\":" + std::to_string(c.earliest_end_ms) +
                           ",\"ended_ms\":" + std::to_string(c.ended_ms) + "}";
  MILLRACE_RETURN_IF_ERROR(
      catalog_->PutDoc(catalog::DocKind::kKinesisAccount, options_.account_id, spec, now));
  commitment_ = c;
  return c;
}

Status StreamManager::SetMaxRecordSize(const std::string& name, int kib) {
  auto s = Get(name);
  if (!s.ok()) return s.status();
  std::unique_lock<std::shared_mutex> w((*s)->mu);
  MILLRACE_RETURN_IF_ERROR(CheckActiveForUpdate(**s));
  const int before = (*s)->max_record_kib;
  (*s)->max_record_kib = kib;
  if (Status st = PersistSettings(**s); !st.ok()) {
    (*s)->max_record_kib = before;
    return st;
  }
  return Status::Ok();
}

Result<int> StreamManager::SetWarmThroughput(const std::string& name, int mibps) {
  auto s = Get(name);
  if (!s.ok()) return s.status();
  std::unique_lock<std::shared_mutex> w((*s)->mu);
  MILLRACE_RETURN_IF_ERROR(CheckWarmThroughput(name, (*s)->mode));
  MILLRACE_RETURN_IF_ERROR(CheckActiveForUpdate(**s));
  const int before = (*s)->warm_target_mibps.value_or(0);
  const std::optional<int> old = (*s)->warm_target_mibps;
  (*s)->warm_target_mibps = mibps;
  if (Status st = PersistSettings(**s); !st.ok()) {
    (*s)->warm_target_mibps = old;
    return st;
  }
  // Asynchronous as AWS's: UPDATING for the transition time, reads and writes go on.
  if (options_.transition_ms > 0) {
    (*s)->status = StreamStatus::kUpdating;
    (*s)->status_changed_ms = clock_->NowMillis();
    MILLRACE_RETURN_IF_ERROR(catalog_->UpdateStream(ToRow(**s)));
  }
  return before;
}

Status StreamManager::SetEncryption(const std::string& name, const std::string& key_id,
                                    const std::string& seal_key_id) {
  auto got = Get(name);
  if (!got.ok()) return got.status();
  Stream& s = **got;
  std::unique_lock<std::shared_mutex> w(s.mu);
  MILLRACE_RETURN_IF_ERROR(CheckActiveForUpdate(s));
  if (!seal_key_id.empty() && !options_.keys)
    return Status::Internal("streams: encryption asked for, and no key store");
  const std::string type_before = s.encryption_type, key_before = s.key_id,
                    seal_before = s.seal_key_id;
  s.encryption_type = seal_key_id.empty() ? "NONE" : "KMS";
  s.key_id = seal_key_id.empty() ? "" : key_id;
  s.seal_key_id = seal_key_id;
  // As AWS's: UPDATING for the transition time; records put from now on are (or are no
  // longer) sealed, those before stay as they were written.
  if (options_.transition_ms > 0) {
    s.status = StreamStatus::kUpdating;
    s.status_changed_ms = clock_->NowMillis();
  }
  Status st = PersistSettings(s);
  if (st.ok()) st = catalog_->UpdateStream(ToRow(s));
  if (!st.ok()) {
    s.encryption_type = type_before;
    s.key_id = key_before;
    s.seal_key_id = seal_before;
    s.status = StreamStatus::kActive;
  }
  return st;
}

Status StreamManager::PersistSettings(const Stream& s) {
  std::string spec = "{\"stream_created_ms\":" + std::to_string(s.created_ms) +
                     ",\"shard_metrics\":" + std::to_string(s.shard_metrics) +
                     ",\"max_record_kib\":" + std::to_string(s.max_record_kib);
  if (s.warm_target_mibps) spec += ",\"warm_target_mibps\":" + std::to_string(*s.warm_target_mibps);
  if (!s.seal_key_id.empty()) spec += ",\"seal_key\":\"" + HexEncode(s.seal_key_id) + "\"";
  spec += "}";
  return catalog_->PutDoc(catalog::DocKind::kStreamSettings, s.name, spec, clock_->NowMillis());
}

Status StreamManager::CheckActiveForUpdate(const Stream& s) const {
  if (s.status == StreamStatus::kActive) return Status::Ok();
  return Status::FailedPrecondition("Stream " + s.name + " under account " + options_.account_id +
                                    " not ACTIVE, instead in state " + StatusName(s.status));
}

Status StreamManager::PersistStream(const Stream& s, const std::vector<const Shard*>& changed) {
  std::vector<catalog::ShardRow> rows;
  for (const Shard* sh : changed) rows.push_back(ToRow(s, *sh));
  return catalog_->UpdateStreamAndShards(ToRow(s), rows);
}

Status StreamManager::SetRetention(const std::string& name, int hours, bool increase) {
  auto got = Get(name);
  if (!got.ok()) return got.status();
  Stream& s = **got;
  std::unique_lock<std::shared_mutex> w(s.mu);
  if (hours < 24)
    return Status::InvalidArgument(
        "Minimum allowed retention period is 24 hours. Requested "
        "retention period (" +
        std::to_string(hours) + " hours) is too short.");
  if (hours > 8760)
    return Status::InvalidArgument(
        "Maximum allowed retention period is 8760 hours. Requested "
        "retention period (" +
        std::to_string(hours) + " hours) is too long.");
  if (increase && hours < s.retention_hours)
    return Status::InvalidArgument(
        "Requested retention period (" + std::to_string(hours) + " hours) for stream " + name +
        " can not be shorter than existing retention period (" + std::to_string(s.retention_hours) +
        " hours). Use DecreaseRetentionPeriod API.");
  if (!increase && hours > s.retention_hours)
    return Status::InvalidArgument(
        "Requested retention period (" + std::to_string(hours) + " hours) for stream " + name +
        " can not be longer than existing retention period (" + std::to_string(s.retention_hours) +
        " hours). Use IncreaseRetentionPeriod API.");
  MILLRACE_RETURN_IF_ERROR(CheckActiveForUpdate(s));
  int old = s.retention_hours;
  s.retention_hours = hours;
  Status st = catalog_->UpdateStream(ToRow(s));
  if (!st.ok()) s.retention_hours = old;
  return st;
}

Status StreamManager::UpdateMode(const std::string& name, StreamMode mode) {
  auto got = Get(name);
  if (!got.ok()) return got.status();
  Stream& s = **got;
  if (mode == StreamMode::kOnDemand) {
    std::shared_lock<std::shared_mutex> r(s.mu);
    bool already = s.mode == StreamMode::kOnDemand;
    r.unlock();
    if (!already && OnDemandStreamCount() >= options_.on_demand_stream_limit)
      return Status::ResourceExhausted("This request would exceed the on-demand stream limit.");
  }
  std::unique_lock<std::shared_mutex> w(s.mu);
  MILLRACE_RETURN_IF_ERROR(CheckActiveForUpdate(s));
  if (s.mode == mode)
    return Status::InvalidArgument("Stream " + name + " under account " + options_.account_id +
                                   " is already in " + ModeName(mode) + " mode.");
  s.mode = mode;
  s.mode_changed_ms = clock_->NowMillis();
  if (options_.transition_ms > 0) {
    s.status = StreamStatus::kUpdating;
    s.status_changed_ms = s.mode_changed_ms;
  }
  return catalog_->UpdateStream(ToRow(s));
}

Result<std::vector<catalog::TagRow>> StreamManager::ListTags(const std::string& name) {
  auto got = Get(name);
  if (!got.ok()) return got.status();
  return catalog_->ListTags((*got)->id);
}

Status StreamManager::AddTags(const std::string& name, const std::vector<catalog::TagRow>& tags) {
  auto got = Get(name);
  if (!got.ok()) return got.status();
  auto existing = catalog_->ListTags((*got)->id);
  if (!existing.ok()) return existing.status();
  size_t total = existing->size();
  for (const auto& t : tags) {
    bool present = std::any_of(existing->begin(), existing->end(),
                               [&](const catalog::TagRow& e) { return e.key == t.key; });
    if (!present) ++total;
  }
  if (total > 50)
    return Status::ResourceExhausted("Failed to add tags to stream " + name + " under account " +
                                     options_.account_id +
                                     " because a given stream cannot have more than 50 tags "
                                     "associated with it.");
  return catalog_->PutTags((*got)->id, tags);
}

Status StreamManager::RemoveTags(const std::string& name, const std::vector<std::string>& keys) {
  auto got = Get(name);
  if (!got.ok()) return got.status();
  return catalog_->RemoveTags((*got)->id, keys);
}

// ---- maintenance: state transitions and retention ----

void StreamManager::MaintenanceLoop() {
  int64_t last_retention = 0;
  std::unique_lock<std::mutex> l(maint_mu_);
  while (!stopping_) {
    maint_cv_.wait_for(l, std::chrono::milliseconds(100));
    if (stopping_) break;
    l.unlock();
    (void)List();  // settles due transitions
    int64_t now = clock_->NowMillis();
    if (now - last_retention >= 30000) {
      last_retention = now;
      Status st = RunRetention();
      if (!st.ok()) LOG(kError) << "streams: retention failed: " << st.ToString();
    }
    l.lock();
  }
}

Status StreamManager::RunRetention() {
  std::map<uint64_t, int64_t> retention_ms;  // live streams
  for (auto& s : List()) {
    std::shared_lock<std::shared_mutex> r(s->mu);
    retention_ms[s->id] = static_cast<int64_t>(s->retention_hours) * 3600 * 1000;
  }
  int64_t now = clock_->NowMillis();
  auto expired = [&](uint64_t stream_id, int64_t newest_ms) {
    auto it = retention_ms.find(stream_id);
    return it == retention_ms.end() || newest_ms < now - it->second;
  };
  auto floor = [&](uint64_t stream_id, uint32_t shard, uint64_t end) -> Status {
    if (!retention_ms.count(stream_id)) return Status::Ok();
    return catalog_->RaiseCounterFloor(stream_id, shard, end);
  };
  auto n = journal_->DeleteExpiredSegments(expired, floor);
  return n.ok() ? Status::Ok() : n.status();
}

uint64_t StreamManager::TrimHorizon(const Stream& stream, const Shard& shard) const {
  int64_t cutoff = clock_->NowMillis() - static_cast<int64_t>(stream.retention_hours) * 3600000;
  uint64_t first = std::max(shard.log->FirstCounter(), shard.starting_counter);
  uint64_t at = shard.log->FrameCounterAtOrAfter(cutoff);
  return std::max(first, at);
}

bool StreamManager::ShardVisible(const Stream& stream, const Shard& shard) const {
  if (shard.open() || !shard.closed_ms) return true;
  int64_t retention = static_cast<int64_t>(stream.retention_hours) * 3600000;
  return *shard.closed_ms + retention > clock_->NowMillis();
}

}  // namespace millrace::streams
