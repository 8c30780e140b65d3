#include "cdc/capture.h"

#include <simdjson.h>

#include <deque>
#include <map>

#include "cdc/change_record.h"
#include "cdc/pg_conn.h"
#include "cdc/pgoutput.h"
#include "cdc/source.h"
#include "common/json_writer.h"
#include "common/logging.h"

namespace millrace::cdc {

namespace {

// A batch goes to the log at this many records or bytes, or when the replication stream
// has nothing more buffered; at most kMaxInFlightBytes wait for their group commit (a
// transaction of any size passes through in bounded memory).
constexpr size_t kBatchRecords = 2000;
constexpr size_t kBatchBytes = 4u << 20;
constexpr size_t kMaxInFlightBytes = 64u << 20;
constexpr int kPollMs = 200;
constexpr int64_t kStatusIntervalUs = 10'000'000;  // a status update at least this often
constexpr int64_t kConfirmIntervalUs = 200'000;    // confirm progress at most this often

int64_t BackoffMs(uint64_t failures) {
  int64_t ms = 1000;
  for (uint64_t i = 1; i < failures && ms < 30000; ++i) ms *= 2;
  return std::min<int64_t>(ms, 30000);
}

// The state shared with the log's completion thread: which appends are durable.
struct Durability {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t issued = 0, completed = 0;
  size_t in_flight_bytes = 0;
  Status failure = Status::Ok();
};

// Appends records to the stream in position order, and tells which commit LSN is durable.
class Writer {
 public:
  Writer(streams::StreamManager* streams, std::shared_ptr<streams::Stream> stream)
      : streams_(streams), stream_(std::move(stream)), d_(std::make_shared<Durability>()) {}

  size_t batch_records() const { return batch_.size(); }
  size_t batch_bytes() const { return batch_bytes_; }

  void Add(BuiltRecord&& r) {
    batch_bytes_ += r.data.size() + r.partition_key.size();
    streams::PutEntry e;
    e.partition_key = std::move(r.partition_key);
    e.data = std::move(r.data);
    batch_.push_back(std::move(e));
  }

  // Sends the batch to the log. `confirm`: the end LSN of a commit whose records are all
  // in this batch or before it; durable once this append is.
  void Flush(std::optional<Lsn> confirm, int64_t commit_time_us = 0) {
    uint64_t ticket;
    {
      std::lock_guard<std::mutex> l(d_->mu);
      if (!batch_.empty()) {
        ticket = ++d_->issued;
        d_->in_flight_bytes += batch_bytes_;
      } else {
        ticket = d_->issued;
      }
    }
    if (confirm) pending_.push_back({ticket, *confirm, commit_time_us});
    if (batch_.empty()) return;
    std::shared_ptr<Durability> d = d_;
    const size_t bytes = batch_bytes_;
    streams_->Put(
        stream_, std::move(batch_), /*all_or_nothing=*/false,
        [d, bytes](Status st, std::vector<streams::PutOutcome> outcomes) {
          for (const auto& o : outcomes)
            if (st.ok() && !o.status.ok()) st = o.status;
          std::lock_guard<std::mutex> l(d->mu);
          if (!st.ok() && d->failure.ok())
            d->failure = Status(st.code(), "writing to the stream: " + st.message());
          ++d->completed;
          d->in_flight_bytes -= bytes;
          d->cv.notify_all();
        },
        /*throttled=*/false);
    batch_.clear();
    batch_bytes_ = 0;
  }

  // Waits while too much is in flight; the first append failure, if any.
  Status WaitRoom() {
    std::unique_lock<std::mutex> l(d_->mu);
    d_->cv.wait(l, [&] { return d_->in_flight_bytes <= kMaxInFlightBytes || !d_->failure.ok(); });
    return d_->failure;
  }
  Status WaitAll() {
    std::unique_lock<std::mutex> l(d_->mu);
    d_->cv.wait(l, [&] { return d_->completed == d_->issued || !d_->failure.ok(); });
    return d_->failure;
  }
  Status failure() {
    std::lock_guard<std::mutex> l(d_->mu);
    return d_->failure;
  }
  bool Idle() {
    std::lock_guard<std::mutex> l(d_->mu);
    return batch_.empty() && d_->completed == d_->issued;
  }

  // The newest confirmable LSN (0: none new), and the commit time of the oldest commit
  // still waiting (0: none).
  Lsn TakeConfirmable(int64_t* oldest_waiting_us) {
    uint64_t completed;
    {
      std::lock_guard<std::mutex> l(d_->mu);
      if (!d_->failure.ok()) return 0;
      completed = d_->completed;
    }
    Lsn lsn = 0;
    while (!pending_.empty() && pending_.front().ticket <= completed) {
      lsn = pending_.front().lsn;
      pending_.pop_front();
    }
    *oldest_waiting_us = pending_.empty() ? 0 : pending_.front().commit_time_us;
    return lsn;
  }

 private:
  struct Pending {
    uint64_t ticket;
    Lsn lsn;
    int64_t commit_time_us;
  };
  streams::StreamManager* const streams_;
  std::shared_ptr<streams::Stream> stream_;
  std::shared_ptr<Durability> d_;
  std::vector<streams::PutEntry> batch_;
  size_t batch_bytes_ = 0;
  std::deque<Pending> pending_;
};

}  // namespace

// One attempt at capturing: connections, slot, snapshot, stream. Ends with an error (or
// Ok when asked to stop); the runner then starts a new one.
class CaptureRunner::Session {
 public:
  explicit Session(CaptureRunner* r) : r_(r), spec_(r->spec_) {}

  Status Run() {
    auto stream = r_->streams_->Get(spec_.stream);
    if (!stream.ok()) {
      r_->SetState("WAITING");
      return Status::Unavailable("stream " + spec_.stream + " does not exist");
    }
    if ((*stream)->status != streams::StreamStatus::kActive &&
        (*stream)->status != streams::StreamStatus::kUpdating) {
      // Being created (or updated): not a failure, just a moment.
      r_->SetState("WAITING");
      return Status::ResourceExhausted("stream " + spec_.stream + " is not ACTIVE yet");
    }
    stream_ = *stream;
    writer_ = std::make_unique<Writer>(r_->streams_, stream_);
    r_->SetState("STARTING");

    auto sql = PgConn::Connect(spec_.dsn, false);
    if (!sql.ok()) return sql.status();
    sql_ = std::move(*sql);
    MILLRACE_RETURN_IF_ERROR(CheckEncoding(*sql_));
    MILLRACE_RETURN_IF_ERROR(LoadTypes(*sql_, &types_));
    auto db = sql_->Query("SELECT current_database()");
    if (!db.ok()) return db.status();
    database_ = db->rows.empty() ? "" : db->rows[0][0].value_or("");
    MILLRACE_RETURN_IF_ERROR(EnsurePublication(*sql_, spec_));

    auto repl = PgConn::Connect(spec_.dsn, true);
    if (!repl.ok()) return repl.status();
    repl_ = std::move(*repl);
    const std::string slot = spec_.SlotName();
    auto slots = sql_->Query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", {slot});
    if (!slots.ok()) return slots.status();
    bool slot_exists = !slots->rows.empty();
    bool snapshot_done = LoadSnapshotDone();
    if (slot_exists && !snapshot_done && spec_.snapshot == SnapshotMode::kInitial &&
        spec_.OwnsSlot()) {
      // The snapshot was interrupted: its exported snapshot died with its connection, so
      // it starts over with a new slot (docs/change-streams.md).
      LOG(kWarn) << "change stream " << spec_.name
                 << ": the initial snapshot did not finish; starting it again with a new slot";
      auto dropped = sql_->Query("SELECT pg_drop_replication_slot($1)", {slot});
      if (!dropped.ok()) return dropped.status();
      slot_exists = false;
    }
    if (!slot_exists) {
      if (!spec_.OwnsSlot())
        return Status::FailedPrecondition("replication slot " + slot + " does not exist");
      const bool snapshot = spec_.snapshot == SnapshotMode::kInitial;
      auto created =
          repl_->Query("CREATE_REPLICATION_SLOT " + QuoteIdent(slot) + " LOGICAL pgoutput " +
                       (snapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT"));
      if (!created.ok()) return created.status();
      LOG(kInfo) << "change stream " << spec_.name << ": created replication slot " << slot;
      if (snapshot) {
        auto cp = ParseLsn(created->rows.at(0).at(1).value_or(""));
        std::string name = created->rows.at(0).at(2).value_or("");
        if (!cp) return Status::Internal("CREATE_REPLICATION_SLOT gave no consistent point");
        MILLRACE_RETURN_IF_ERROR(SaveSnapshotDone(false));
        MILLRACE_RETURN_IF_ERROR(RunSnapshot(name, *cp));
        if (r_->stopping()) return Status::Ok();
      }
      MILLRACE_RETURN_IF_ERROR(SaveSnapshotDone(true));
    }
    {
      std::lock_guard<std::mutex> l(r_->mu_);
      r_->status_.snapshot_done = true;  // its per-table progress stays shown
    }
    MILLRACE_RETURN_IF_ERROR(LoadWatermarks());
    MILLRACE_RETURN_IF_ERROR(repl_->StartCopyBoth(
        "START_REPLICATION SLOT " + QuoteIdent(slot) + " LOGICAL 0/0 (proto_version '1', " +
        "publication_names " + QuoteLiteral(QuoteIdent(spec_.PublicationName())) + ")"));
    r_->SetState("STREAMING");
    return Stream();
  }

 private:
  // ---- capture state in the catalog ---------------------------------------------------
  bool LoadSnapshotDone() {
    auto doc = r_->catalog_->GetDoc(catalog::DocKind::kChangeStreamState, spec_.name);
    if (!doc.ok() || !*doc) return false;
    return (*doc)->spec.find("\"snapshot_done\":true") != std::string::npos;
  }
  Status SaveSnapshotDone(bool done) {
    std::string json = std::string("{\"snapshot_done\":") + (done ? "true" : "false") + "}";
    int64_t now = r_->clock_->NowMillis();
    int64_t version = 0;
    Status st = r_->catalog_->UpdateDoc(catalog::DocKind::kChangeStreamState, spec_.name, json, now,
                                        &version);
    if (st.code() != Code::kNotFound) return st;
    catalog::DocRow row;
    row.name = spec_.name;
    row.spec = json;
    row.created_ms = row.updated_ms = now;
    return r_->catalog_->CreateDoc(catalog::DocKind::kChangeStreamState, row);
  }

  // ---- exactly once -------------------------------------------------------------------
  // For each shard, the position of the newest record of this change stream in it.
  Status LoadWatermarks() {
    auto view = r_->streams_->ViewStream(spec_.stream);
    if (!view.ok()) return view.status();
    for (const auto& shard : view->shards) {
      uint64_t end = shard.open ? shard.durable_end : shard.end_exclusive;
      uint64_t chunk = 16;
      bool found = false;
      while (!found && end > shard.trim_horizon) {
        uint64_t from = end - std::min<uint64_t>(chunk, end - shard.trim_horizon);
        log::Journal::ReadResult rr;
        MILLRACE_RETURN_IF_ERROR(
            r_->streams_->ReadShard(view->id, shard.index, from, end - from, 256u << 20, &rr));
        for (auto it = rr.records.rbegin(); it != rr.records.rend(); ++it) {
          if (it->counter >= end) continue;
          auto origin = ParseRecordOrigin(it->data);
          if (origin && origin->change_stream == spec_.name) {
            watermarks_[shard.index] = origin->position;
            max_watermark_ = std::max(max_watermark_, origin->position);
            found = true;
            break;
          }
        }
        end = from;
        chunk = std::min<uint64_t>(chunk * 4, 4096);
      }
    }
    return Status::Ok();
  }

  // Whether the log already holds the record at `pos` (written before a restart).
  bool AlreadyWritten(const Position& pos, const std::string& partition_key) {
    if (watermarks_.empty() || pos > max_watermark_) return false;
    auto shard = r_->streams_->ShardIndexFor(*stream_, partition_key);
    if (!shard) return false;
    auto it = watermarks_.find(*shard);
    return it != watermarks_.end() && pos <= it->second;
  }

  Status Emit(const TableInfo& t, const ChangeEvent& ev) {
    BuiltRecord rec;
    ChangeContext ctx{spec_.name, r_->streams_->options().region, database_, spec_.image_format,
                      &types_};
    BuildChangeRecord(ctx, t, ev, &rec);
    if (AlreadyWritten(ev.position, rec.partition_key)) {
      std::lock_guard<std::mutex> l(r_->mu_);
      ++r_->status_.skipped;
      return Status::Ok();
    }
    writer_->Add(std::move(rec));
    {
      std::lock_guard<std::mutex> l(r_->mu_);
      ++r_->status_.changes;
      if (ev.position.phase == 0) ++r_->status_.snapshot_rows;
    }
    if (writer_->batch_records() >= kBatchRecords || writer_->batch_bytes() >= kBatchBytes) {
      writer_->Flush(std::nullopt);
      return writer_->WaitRoom();
    }
    return Status::Ok();
  }

  // ---- the initial snapshot ----------------------------------------------------------
  Status RunSnapshot(const std::string& snapshot_name, Lsn consistent_point) {
    r_->SetState("SNAPSHOTTING");
    auto conn = PgConn::Connect(spec_.dsn, false);
    if (!conn.ok()) return conn.status();
    PgConn& c = **conn;
    MILLRACE_RETURN_IF_ERROR(c.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    MILLRACE_RETURN_IF_ERROR(c.Exec("SET TRANSACTION SNAPSHOT " + QuoteLiteral(snapshot_name)));
    {
      std::lock_guard<std::mutex> l(r_->mu_);
      r_->status_.snapshot.clear();
      for (const auto& q : spec_.tables) r_->status_.snapshot.push_back({q, 0, -1, false});
    }
    for (size_t i = 0; i < spec_.tables.size(); ++i) {
      auto [schema, name] = SplitTable(spec_.tables[i]);
      auto est = c.Query(
          "SELECT c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = "
          "c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
          {schema, name});
      if (est.ok() && !est->rows.empty()) {
        std::lock_guard<std::mutex> l(r_->mu_);
        r_->status_.snapshot[i].rows_estimated = std::stoll(est->rows[0][0].value_or("-1"));
      }
    }
    const int64_t taken_us = r_->clock_->NowMillis() * 1000;
    uint64_t seq = 0;
    std::vector<std::string> decoded;
    std::vector<TupleValue> tuple;
    for (size_t i = 0; i < spec_.tables.size(); ++i) {
      auto table = LoadTable(c, spec_.tables[i]);
      if (!table.ok()) return table.status();
      std::string cols;
      for (const auto& col : table->columns)
        cols += (cols.empty() ? "" : ", ") + QuoteIdent(col.name);
      const std::string sql = "COPY (SELECT " + cols + " FROM ONLY " + QuoteIdent(table->schema) +
                              "." + QuoteIdent(table->name) + ") TO STDOUT";
      Status emit_status = Status::Ok();
      Status st = c.CopyOut(sql, [&](std::string_view line) {
        decoded.assign(table->columns.size(), std::string());
        tuple.assign(table->columns.size(), TupleValue{});
        size_t col = 0, start = 0;
        for (size_t p = 0; p <= line.size() && col < table->columns.size(); ++p) {
          if (p < line.size() && line[p] != '\t') continue;
          if (DecodeCopyField(line.substr(start, p - start), &decoded[col]))
            tuple[col] = TupleValue{TupleValue::kText, decoded[col]};
          ++col;
          start = p + 1;
        }
        ChangeEvent ev;
        ev.kind = ChangeKind::kInsert;
        ev.position = Position{consistent_point, 0, seq++};
        ev.commit_time_us = taken_us;
        ev.new_tuple = &tuple;
        emit_status = Emit(*table, ev);
        {
          std::lock_guard<std::mutex> l(r_->mu_);
          ++r_->status_.snapshot[i].rows_copied;
        }
        return emit_status.ok() && !r_->stopping();
      });
      if (!emit_status.ok()) return emit_status;
      if (r_->stopping()) return Status::Ok();
      MILLRACE_RETURN_IF_ERROR(st);
      std::lock_guard<std::mutex> l(r_->mu_);
      r_->status_.snapshot[i].done = true;
    }
    MILLRACE_RETURN_IF_ERROR(c.Exec("COMMIT"));
    writer_->Flush(std::nullopt);
    return writer_->WaitAll();
  }

  // ---- the replication stream -----------------------------------------------------------
  Status HandleRelation(const PgOutputMessage& m) {
    TableInfo t;
    t.relation_id = m.relation_id;
    t.schema = m.schema;
    t.name = m.name;
    t.replica_identity = m.replica_identity;
    t.columns = m.columns;
    for (const auto& c : t.columns)
      if (!types_.Knows(c.type_oid)) {
        MILLRACE_RETURN_IF_ERROR(LoadTypes(*sql_, &types_));
        break;
      }
    MILLRACE_RETURN_IF_ERROR(LoadKeys(*sql_, &t));
    relations_[m.relation_id] = std::move(t);
    return Status::Ok();
  }

  Status HandleChange(const PgOutputMessage& m) {
    auto it = relations_.find(m.relation_id);
    if (it == relations_.end())
      return Status::Corruption("pgoutput: a change of relation " + std::to_string(m.relation_id) +
                                " before its Relation message");
    ChangeEvent ev;
    ev.kind = m.type == PgOutputMessage::kInsert   ? ChangeKind::kInsert
              : m.type == PgOutputMessage::kUpdate ? ChangeKind::kModify
                                                   : ChangeKind::kRemove;
    ev.position = Position{txn_lsn_, 1, txn_seq_++};
    ev.xid = txn_xid_;
    ev.commit_time_us = txn_time_us_;
    ev.old_kind = m.old_kind;
    ev.old_tuple = m.old_kind ? &m.old_tuple : nullptr;
    ev.new_tuple = ev.kind == ChangeKind::kRemove ? nullptr : &m.new_tuple;
    return Emit(it->second, ev);
  }

  Status SendStatus(Lsn lsn) {
    last_status_us_ = r_->clock_->NowMillis() * 1000;
    return repl_->SendCopyData(EncodeStandbyStatus(lsn, last_status_us_, false));
  }

  Status Stream() {
    std::string buf;
    bool in_txn = false;
    std::optional<Lsn> commit_to_confirm;  // the newest commit not yet handed to the writer
    int64_t commit_time_to_confirm = 0;
    Lsn confirmed = 0;
    int64_t last_confirm_us = 0;
    uint64_t rate_changes = 0;
    int64_t rate_at_ms = r_->clock_->NowMillis();
    while (!r_->stopping()) {
      auto got = repl_->ReadCopyData(0, &buf);
      if (!got.ok()) return got.status();
      if (!*got) {
        // Nothing more buffered: what we have goes to the log now, unless a transaction is
        // half received (its changes go to the log together, in one append, up to the
        // batch limits).
        if (!in_txn && (writer_->batch_records() > 0 || commit_to_confirm)) {
          writer_->Flush(commit_to_confirm, commit_time_to_confirm);
          commit_to_confirm.reset();
        }
        got = repl_->ReadCopyData(kPollMs, &buf);
        if (!got.ok()) return got.status();
      }
      const int64_t now_us = r_->clock_->NowMillis() * 1000;
      if (*got) {
        ReplicationMessage rm;
        MILLRACE_RETURN_IF_ERROR(DecodeReplicationMessage(buf, &rm));
        server_lsn_ = std::max(server_lsn_, rm.wal_end);
        if (rm.kind == ReplicationMessage::kKeepalive) {
          // Nothing of ours is between the confirmed position and the server's: an idle
          // (or unrelated) WAL lets the slot advance, so the source keeps no WAL for us.
          if (!in_txn && !commit_to_confirm && writer_->Idle() && rm.wal_end > confirmed) {
            writer_->Flush(rm.wal_end, 0);
          }
          if (rm.reply_requested) MILLRACE_RETURN_IF_ERROR(SendStatus(confirmed));
        } else {
          PgOutputMessage m;
          MILLRACE_RETURN_IF_ERROR(DecodePgOutput(rm.data, &m));
          switch (m.type) {
            case PgOutputMessage::kBegin:
              in_txn = true;
              txn_lsn_ = m.final_lsn;
              txn_xid_ = m.xid;
              txn_time_us_ = m.commit_time_us;
              txn_seq_ = 0;
              break;
            case PgOutputMessage::kCommit: {
              in_txn = false;
              commit_to_confirm = m.end_lsn;
              commit_time_to_confirm = m.commit_time_us;
              std::lock_guard<std::mutex> l(r_->mu_);
              ++r_->status_.transactions;
              break;
            }
            case PgOutputMessage::kRelation:
              MILLRACE_RETURN_IF_ERROR(HandleRelation(m));
              break;
            case PgOutputMessage::kType:
              if (!types_.Knows(m.type_oid)) MILLRACE_RETURN_IF_ERROR(LoadTypes(*sql_, &types_));
              break;
            case PgOutputMessage::kInsert:
            case PgOutputMessage::kUpdate:
            case PgOutputMessage::kDelete:
              MILLRACE_RETURN_IF_ERROR(HandleChange(m));
              break;
            default:
              break;  // Origin, Truncate (not published), Message
          }
          if (commit_to_confirm && writer_->batch_records() >= kBatchRecords) {
            writer_->Flush(commit_to_confirm, commit_time_to_confirm);
            commit_to_confirm.reset();
            MILLRACE_RETURN_IF_ERROR(writer_->WaitRoom());
          }
        }
      }
      MILLRACE_RETURN_IF_ERROR(writer_->failure());
      // Confirm what is durable, and tell the server we are alive.
      if (now_us - last_confirm_us >= kConfirmIntervalUs) {
        last_confirm_us = now_us;
        int64_t oldest_us = 0;
        Lsn durable = writer_->TakeConfirmable(&oldest_us);
        if (durable > confirmed) {
          confirmed = durable;
          MILLRACE_RETURN_IF_ERROR(SendStatus(confirmed));
        } else if (now_us - last_status_us_ >= kStatusIntervalUs) {
          MILLRACE_RETURN_IF_ERROR(SendStatus(confirmed));
        }
        const int64_t now_ms = now_us / 1000;
        std::lock_guard<std::mutex> l(r_->mu_);
        r_->status_.confirmed_lsn = confirmed;
        r_->status_.server_lsn = server_lsn_;
        r_->status_.lag_ms = oldest_us > 0 ? std::max<int64_t>(0, now_ms - oldest_us / 1000) : 0;
        if (now_ms - rate_at_ms >= 1000) {
          double rate = (r_->status_.changes - rate_changes) * 1000.0 / (now_ms - rate_at_ms);
          r_->status_.changes_per_second =
              r_->status_.changes_per_second * 0.5 + rate * 0.5;  // smoothed
          rate_changes = r_->status_.changes;
          rate_at_ms = now_ms;
        }
        if (r_->status_.consecutive_failures > 0 && confirmed > 0)
          r_->status_.consecutive_failures = 0;
      }
    }
    // Stopping: what is already sent may finish; the slot keeps what is not confirmed.
    return Status::Ok();
  }

  CaptureRunner* const r_;
  const ChangeStreamSpec& spec_;
  std::shared_ptr<streams::Stream> stream_;
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<PgConn> sql_, repl_;
  TypeMap types_;
  std::string database_;
  std::map<uint32_t, TableInfo> relations_;
  std::map<uint32_t, Position> watermarks_;
  Position max_watermark_;
  Lsn server_lsn_ = 0;
  Lsn txn_lsn_ = 0;
  uint32_t txn_xid_ = 0;
  int64_t txn_time_us_ = 0;
  uint64_t txn_seq_ = 0;
  int64_t last_status_us_ = 0;
};

CaptureRunner::CaptureRunner(ChangeStreamSpec spec, int64_t version, catalog::Catalog* catalog,
                             streams::StreamManager* streams, const Clock* clock)
    : spec_(std::move(spec)),
      version_(version),
      catalog_(catalog),
      streams_(streams),
      clock_(clock) {
  status_.name = spec_.name;
  status_.state = spec_.paused ? "PAUSED" : "STARTING";
  status_.slot = spec_.SlotName();
  status_.publication = spec_.PublicationName();
  if (!spec_.paused) thread_ = std::thread([this] { Loop(); });
}

CaptureRunner::~CaptureRunner() { Stop(); }

void CaptureRunner::Stop() {
  stopping_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ChangeStreamStatus CaptureRunner::StatusNow() {
  std::lock_guard<std::mutex> l(mu_);
  return status_;
}

void CaptureRunner::SetState(const std::string& state) {
  std::lock_guard<std::mutex> l(mu_);
  status_.state = state;
}

void CaptureRunner::NoteError(const Status& st) {
  std::lock_guard<std::mutex> l(mu_);
  if (status_.state != "WAITING") status_.state = "FAILING";
  status_.last_error = st.message();
  status_.last_error_at_ms = clock_->NowMillis();
  ++status_.consecutive_failures;
}

void CaptureRunner::Loop() {
  while (!stopping()) {
    Status st;
    {
      Session session(this);
      st = session.Run();
    }  // connections closed before the wait
    if (stopping()) break;
    if (st.ok()) continue;
    if (st.code() == Code::kResourceExhausted) {  // its stream is becoming ACTIVE
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::milliseconds(50), [this] { return stopping(); });
      continue;
    }
    NoteError(st);
    uint64_t failures;
    {
      std::lock_guard<std::mutex> l(mu_);
      failures = status_.consecutive_failures;
    }
    if (st.code() != Code::kUnavailable || failures <= 1 || failures % 10 == 0)
      LOG(kWarn) << "change stream " << spec_.name << ": " << st.message();
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::milliseconds(BackoffMs(failures)), [this] { return stopping(); });
  }
}

}  // namespace millrace::cdc
