#include "log/journal.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <unordered_map>

#include "common/encoding.h"
#include "common/logging.h"

namespace millrace::log {

// ---- ShardLog ----

uint64_t ShardLog::DurableEnd() const {
  std::lock_guard<std::mutex> l(mu_);
  return durable_end_;
}

uint64_t ShardLog::FirstCounter() const {
  std::lock_guard<std::mutex> l(mu_);
  return frames_.empty() ? durable_end_ : frames_.front().first_counter;
}

int64_t ShardLog::LastArrival() const {
  std::lock_guard<std::mutex> l(mu_);
  return frames_.empty() ? 0 : frames_.back().last_ts;
}

uint64_t ShardLog::FrameCounterAtOrAfter(int64_t ts_ms) const {
  std::lock_guard<std::mutex> l(mu_);
  // Arrival times never decrease within a shard, so frames are sorted by last_ts too.
  auto it = std::lower_bound(frames_.begin(), frames_.end(), ts_ms,
                             [](const FrameEntry& e, int64_t t) { return e.last_ts < t; });
  return it == frames_.end() ? durable_end_ : it->first_counter;
}

std::vector<FrameEntry> ShardLog::FramesFrom(uint64_t from, size_t max_bytes) const {
  std::vector<FrameEntry> out;
  std::lock_guard<std::mutex> l(mu_);
  auto it = std::upper_bound(frames_.begin(), frames_.end(), from,
                             [](uint64_t c, const FrameEntry& e) { return c < e.end_counter(); });
  size_t bytes = 0;
  for (; it != frames_.end() && (out.empty() || bytes < max_bytes); ++it) {
    out.push_back(*it);
    bytes += it->frame_len;
  }
  return out;
}

// ---- Journal: open and recovery ----

Journal::Journal(JournalOptions options)
    : options_(std::move(options)),
      fs_(options_.fs ? options_.fs : FileSystem::Posix()),
      clock_(options_.clock ? options_.clock : SystemClock::Default()) {}

Result<std::unique_ptr<Journal>> Journal::Open(JournalOptions options) {
  std::unique_ptr<Journal> j(new Journal(std::move(options)));
  j->max_open_sealed_ = j->options_.max_open_sealed;
  if (j->max_open_sealed_ == 0) {
    rlimit nofile{};
    rlim_t limit = ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 ? nofile.rlim_cur : 1024;
    j->max_open_sealed_ = std::max<size_t>(4, std::min<rlim_t>(64, limit / 8));
  }
  MILLRACE_RETURN_IF_ERROR(j->fs_->CreateDir(j->options_.dir));
  MILLRACE_RETURN_IF_ERROR(j->Recover());
  j->completion_thread_ = std::thread([p = j.get()] { p->CompletionLoop(); });
  j->commit_thread_ = std::thread([p = j.get()] { p->CommitLoop(); });
  return j;
}

Journal::~Journal() {
  {
    std::lock_guard<std::mutex> l(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (commit_thread_.joinable()) commit_thread_.join();  // then tells the completer to stop
  if (completion_thread_.joinable()) completion_thread_.join();
}

ShardLog* Journal::GetShardLocked(uint64_t stream_id, uint32_t shard_index) {
  auto& slot = shards_[{stream_id, shard_index}];
  if (!slot) slot = std::make_unique<ShardLog>(stream_id, shard_index);
  return slot.get();
}

ShardLog* Journal::GetShard(uint64_t stream_id, uint32_t shard_index, uint64_t counter_floor) {
  ShardLog* s;
  {
    std::lock_guard<std::mutex> l(shards_mu_);
    s = GetShardLocked(stream_id, shard_index);
  }
  std::lock_guard<std::mutex> q(queue_mu_);
  if (s->next_counter_ < counter_floor) {
    s->next_counter_ = counter_floor;
    std::lock_guard<std::mutex> m(s->mu_);
    if (s->frames_.empty()) s->durable_end_ = std::max(s->durable_end_, counter_floor);
  }
  return s;
}

uint64_t Journal::NextCounter(const ShardLog* shard) {
  std::lock_guard<std::mutex> q(queue_mu_);
  return shard->next_counter_;
}

std::vector<uint64_t> Journal::StreamsInLog() const {
  std::vector<uint64_t> out;
  std::lock_guard<std::mutex> l(shards_mu_);
  for (const auto& [key, s] : shards_)
    if (out.empty() || out.back() != key.first) out.push_back(key.first);
  return out;
}

// Records the frame in the segment (for its index and retention) and, when `publish`, in
// its shard's index, making it readable.
void Journal::AddEntry(Segment* seg, const FrameEntry& e, bool publish) {
  seg->entries.push_back(e);
  int64_t& newest = seg->newest_by_stream[e.stream_id];
  newest = std::max(newest, e.last_ts);
  auto key = std::make_pair(e.stream_id, e.shard_index);
  if (seg->shards.empty() || seg->shards.back() != key) {
    if (std::find(seg->shards.begin(), seg->shards.end(), key) == seg->shards.end())
      seg->shards.push_back(key);
  }
  if (!publish) return;
  ShardLog* s;
  {
    std::lock_guard<std::mutex> l(shards_mu_);
    s = GetShardLocked(e.stream_id, e.shard_index);
  }
  {
    std::lock_guard<std::mutex> q(queue_mu_);
    s->next_counter_ = std::max(s->next_counter_, e.end_counter());
    s->last_assigned_ts_ = std::max(s->last_assigned_ts_, e.last_ts);
  }
  std::lock_guard<std::mutex> m(s->mu_);
  if (!s->frames_.empty() && e.first_counter < s->frames_.back().end_counter()) {
    LOG(kError) << "log: frame of stream " << e.stream_id << " shard " << e.shard_index
                << " at segment " << e.segment << " offset " << e.offset
                << " overlaps earlier records; skipped";
    return;
  }
  s->frames_.push_back(e);
  s->durable_end_ = e.end_counter();
}

Status Journal::Recover() {
  auto names = fs_->List(options_.dir);
  if (!names.ok()) return names.status();
  std::vector<uint64_t> numbers;
  for (const std::string& n : *names) {
    if (n.size() == 24 && n.compare(20, 4, ".seg") == 0)
      numbers.push_back(std::strtoull(n.c_str(), nullptr, 10));
    else if (n.size() > 4 && n.compare(n.size() - 4, 4, ".tmp") == 0)
      (void)fs_->Remove(options_.dir + "/" + n);  // an index write that did not finish
  }
  std::sort(numbers.begin(), numbers.end());
  for (size_t i = 0; i < numbers.size(); ++i) {
    uint64_t number = numbers[i];
    bool is_last = i + 1 == numbers.size();
    auto seg = std::make_shared<Segment>();
    seg->number = number;
    auto f = fs_->Open(options_.dir + "/" + SegmentFileName(number), false);
    if (!f.ok()) return f.status();
    seg->file = std::move(*f);
    auto size = seg->file->Size();
    if (!size.ok()) return size.status();
    seg->size = *size;

    bool indexed = false;
    if (!is_last) {
      std::string idx_path = options_.dir + "/" + IndexFileName(number);
      if (fs_->Exists(idx_path)) {
        auto data = ReadWholeFile(fs_, idx_path);
        uint64_t covered = 0;
        std::vector<FrameEntry> entries;
        Status st = data.ok() ? DecodeIndex(
                                    *data, number, &covered,
                                    [](void* ctx, const FrameEntry& e) {
                                      static_cast<std::vector<FrameEntry>*>(ctx)->push_back(e);
                                    },
                                    &entries)
                              : data.status();
        if (st.ok() && covered == seg->size) {
          for (const FrameEntry& e : entries) AddEntry(seg.get(), e, true);
          indexed = true;
        } else {
          LOG(kWarn) << "log: index of segment " << number << " unusable ("
                     << (st.ok() ? "covers another length" : st.ToString()) << "); rescanning";
        }
      }
    }
    if (!indexed) MILLRACE_RETURN_IF_ERROR(ScanSegment(seg.get(), is_last));
    seg->sealed = !is_last;
    if (seg->sealed) {
      seg->file.reset();  // reopened on demand (ReaderFor)
      if (!indexed) {
        std::string idx = EncodeIndex(number, seg->size, seg->entries.data(), seg->entries.size());
        MILLRACE_RETURN_IF_ERROR(
            WriteFileAtomically(fs_, options_.dir, IndexFileName(number), idx));
      }
      seg->entries.clear();
      seg->entries.shrink_to_fit();
    }
    std::lock_guard<std::mutex> l(segments_mu_);
    segments_[number] = seg;
    if (is_last) active_ = seg;
  }
  if (!active_) return OpenNewSegment(numbers.empty() ? 1 : numbers.back() + 1);
  if (active_->size >= options_.segment_bytes) return SealActive();
  return Status::Ok();
}

// Reads every frame of a segment, indexing the good ones. In the last segment, a bad or
// incomplete frame with nothing valid after it is a torn write: the file is cut there.
// Anywhere else a bad frame is corruption: reported, skipped, and the scan resumes at the
// next frame whose checksum holds.
Status Journal::ScanSegment(Segment* seg, bool is_last) {
  std::string all;
  MILLRACE_RETURN_IF_ERROR(seg->file->ReadAt(0, seg->size, &all));
  if (all.size() < kSegmentHeaderSize) {
    if (!is_last)
      return Status::Corruption("segment " + std::to_string(seg->number) + " has no header");
    // A crash right after creating the file: write the header again.
    std::string header;
    EncodeSegmentHeader(seg->number, clock_->NowMillis(), &header);
    MILLRACE_RETURN_IF_ERROR(seg->file->Truncate(0));
    MILLRACE_RETURN_IF_ERROR(seg->file->WriteAt(0, header.data(), header.size()));
    MILLRACE_RETURN_IF_ERROR(seg->file->Sync());
    seg->size = header.size();
    return Status::Ok();
  }
  MILLRACE_RETURN_IF_ERROR(DecodeSegmentHeader(all, seg->number));
  uint64_t pos = kSegmentHeaderSize;
  uint64_t good_end = pos;
  uint64_t corrupt = 0;
  auto frame_at = [&](uint64_t p, FrameHeader* h) -> bool {
    if (p + kFrameHeaderSize > all.size()) return false;
    if (!DecodeFrameHeader(std::string_view(all).substr(p), h).ok()) return false;
    if (p + kFrameHeaderSize + h->payload_len > all.size()) return false;
    return VerifyFrame(std::string_view(all).substr(p, kFrameHeaderSize + h->payload_len));
  };
  while (pos < all.size()) {
    FrameHeader h;
    if (frame_at(pos, &h)) {
      uint64_t len = kFrameHeaderSize + h.payload_len;
      // Timestamps: decode the records' arrival bounds for the index entry.
      struct Bounds {
        int64_t first = 0, last = 0;
      } b;
      Status st = DecodeFrameTimeBounds(std::string_view(all).substr(pos, len), &b.first, &b.last);
      if (st.ok()) {
        FrameEntry e;
        e.stream_id = h.stream_id;
        e.shard_index = h.shard_index;
        e.record_count = h.record_count;
        e.segment = seg->number;
        e.offset = pos;
        e.frame_len = static_cast<uint32_t>(len);
        e.first_counter = h.first_counter;
        e.first_ts = b.first;
        e.last_ts = b.last;
        AddEntry(seg, e, true);
        pos += len;
        good_end = pos;
        continue;
      }
    }
    // Bad frame at pos: look for the next valid one.
    uint64_t next = pos + 1;
    bool found = false;
    for (; next + kFrameHeaderSize <= all.size(); ++next) {
      if (DecodeFixed32(all.data() + next) != kFrameMagic) continue;
      FrameHeader h2;
      if (frame_at(next, &h2)) {
        found = true;
        break;
      }
    }
    if (!found) break;  // nothing valid follows
    LOG(kError) << "log: corruption in segment " << seg->number << " at offset " << pos << ": "
                << (next - pos) << " bytes skipped; the records after them are still served";
    corrupt++;
    pos = next;
  }
  if (good_end < all.size()) {
    if (is_last) {
      LOG(kWarn) << "log: segment " << seg->number << " ends in a torn write at offset " << good_end
                 << "; cutting off " << (all.size() - good_end) << " bytes";
      MILLRACE_RETURN_IF_ERROR(seg->file->Truncate(good_end));
      MILLRACE_RETURN_IF_ERROR(seg->file->Sync());
      std::lock_guard<std::mutex> l(stats_mu_);
      stats_.truncated_tail_bytes += all.size() - good_end;
      seg->size = good_end;
    } else {
      LOG(kError) << "log: segment " << seg->number << " has " << (all.size() - good_end)
                  << " unreadable bytes at its end (offset " << good_end << ")";
      corrupt++;
    }
  }
  std::lock_guard<std::mutex> l(stats_mu_);
  stats_.corrupt_frames += corrupt;
  return Status::Ok();
}

Status Journal::OpenNewSegment(uint64_t number) {
  auto seg = std::make_shared<Segment>();
  seg->number = number;
  auto f = fs_->Open(options_.dir + "/" + SegmentFileName(number), true);
  if (!f.ok()) return f.status();
  seg->file = std::move(*f);
  std::string header;
  EncodeSegmentHeader(number, clock_->NowMillis(), &header);
  MILLRACE_RETURN_IF_ERROR(seg->file->Truncate(0));
  MILLRACE_RETURN_IF_ERROR(seg->file->WriteAt(0, header.data(), header.size()));
  MILLRACE_RETURN_IF_ERROR(seg->file->Sync());
  MILLRACE_RETURN_IF_ERROR(fs_->SyncDir(options_.dir));
  seg->size = header.size();
  std::lock_guard<std::mutex> l(segments_mu_);
  segments_[number] = seg;
  active_ = seg;
  return Status::Ok();
}

// Writes the active segment's index and starts the next segment. If the index cannot be
// written, recovery rebuilds it by scanning; the data is already durable.
Status Journal::SealActive() {
  // A reference of our own: once sealed, retention may drop the segment from segments_.
  std::shared_ptr<Segment> seg = active_;
  std::string idx = EncodeIndex(seg->number, seg->size, seg->entries.data(), seg->entries.size());
  Status st = WriteFileAtomically(fs_, options_.dir, IndexFileName(seg->number), idx);
  if (!st.ok())
    LOG(kWarn) << "log: could not write index of segment " << seg->number << ": " << st.ToString();
  MILLRACE_RETURN_IF_ERROR(OpenNewSegment(seg->number + 1));
  seg->entries.clear();
  seg->entries.shrink_to_fit();
  // Published under segments_mu_, where retention reads it, after the last write to seg.
  // Its descriptor closes once the last reader that holds it is done.
  std::lock_guard<std::mutex> l(segments_mu_);
  seg->sealed = true;
  seg->file.reset();
  return Status::Ok();
}

// ---- Appending ----

void Journal::Append(std::unique_ptr<AppendOp> op) {
  {
    std::lock_guard<std::mutex> l(queue_mu_);
    if (!stopping_) {
      int64_t now = clock_->NowMillis();
      for (AppendItem& it : op->items) {
        ShardLog* s = it.shard;
        it.counter = s->next_counter_++;
        // Arrival times never go backwards within a shard, even if the wall clock does.
        it.arrival_ms = std::max(now, s->last_assigned_ts_);
        s->last_assigned_ts_ = it.arrival_ms;
      }
      queue_.push_back(std::move(op));
      op = nullptr;
    }
  }
  if (op) {
    op->Done(Status::Unavailable("the log is shutting down"));
    return;
  }
  queue_cv_.notify_one();
}

// The commit thread writes and syncs; a second thread runs the writers' completions
// (building and sending their answers), so the next batch's write overlaps them instead
// of waiting for every answer of the previous one.
void Journal::CommitLoop() {
  std::vector<std::unique_ptr<AppendOp>> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(queue_mu_);
      queue_cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) break;
      batch.swap(queue_);
    }
    Status st = WriteBatch(batch);
    {
      std::lock_guard<std::mutex> l(done_mu_);
      for (auto& op : batch) done_queue_.emplace_back(std::move(op), st);
    }
    done_cv_.notify_one();
    batch.clear();
  }
  {
    std::lock_guard<std::mutex> l(done_mu_);
    done_stopping_ = true;
  }
  done_cv_.notify_one();
}

void Journal::CompletionLoop() {
  std::vector<std::pair<std::unique_ptr<AppendOp>, Status>> items;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(done_mu_);
      done_cv_.wait(l, [&] { return done_stopping_ || !done_queue_.empty(); });
      if (done_queue_.empty() && done_stopping_) return;
      items.swap(done_queue_);
    }
    for (auto& [op, st] : items) op->Done(st);
    items.clear();
  }
}

// Writes one group commit: for each shard, its records in this batch as one frame (split
// at kMaxFramePayload), all frames with one write and one sync.
Status Journal::WriteBatch(std::vector<std::unique_ptr<AppendOp>>& ops) {
  // First which records go in which frame, then each frame written in place into
  // write_buf_ (whose capacity stays from one commit to the next): the records are copied
  // once, into memory already mapped. (Building each frame's payload in a string of its
  // own cost a fresh mapping, its page faults and a second copy per commit: 2/3 of the
  // commit thread's time on 1 KB records.)
  struct Building {
    FrameHeader h;
    const SealKey* seal = nullptr;
    size_t payload_bytes = 0;
    int64_t last_ts = 0;
    std::vector<const AppendItem*> items;
  };
  std::vector<Building> frames;
  std::unordered_map<ShardLog*, size_t> open;  // shard -> index in frames of its open frame
  size_t total_items = 0, total_bytes = 0;
  for (auto& op : ops) {
    for (AppendItem& it : op->items) {
      ++total_items;
      // + varints (+ a sealed record's tag)
      const size_t bytes = it.data.size() + it.partition_key.size() + 32 + kSealTagSize;
      auto f = open.find(it.shard);
      // A new frame when the key changes: a frame is sealed with one key, or not at all.
      if (f == open.end() || frames[f->second].seal != it.seal.get() ||
          frames[f->second].payload_bytes + bytes + kSealPrefixSize > kMaxFramePayload) {
        Building b;
        b.seal = it.seal.get();
        if (b.seal) b.h.flags |= kFrameSealed;
        b.h.stream_id = it.shard->stream_id();
        b.h.shard_index = it.shard->shard_index();
        b.h.first_counter = it.counter;
        b.h.base_timestamp_ms = it.arrival_ms;
        frames.push_back(std::move(b));
        open[it.shard] = frames.size() - 1;
        f = open.find(it.shard);
      }
      Building& b = frames[f->second];
      b.items.push_back(&it);
      b.payload_bytes += bytes;
      total_bytes += bytes;
      b.h.record_count++;
      b.last_ts = it.arrival_ms;
    }
  }
  if (total_items == 0) return Status::Ok();

  write_buf_.clear();
  write_buf_.reserve(total_bytes + frames.size() * (kFrameHeaderSize + kSealPrefixSize));
  std::vector<FrameEntry> entries;
  entries.reserve(frames.size());
  for (Building& b : frames) {
    size_t offset = BeginFrame(b.h, &write_buf_);
    if (b.seal) {
      sealer_.Begin(*b.seal, &write_buf_);
      uint32_t i = 0;
      for (const AppendItem* it : b.items)
        sealer_.AppendRecord(b.h, i++, it->arrival_ms, it->partition_key, it->data, &write_buf_);
    } else {
      for (const AppendItem* it : b.items)
        AppendRecordPayload(&write_buf_, b.h.base_timestamp_ms, it->arrival_ms, it->partition_key,
                            it->data);
    }
    FinishFrame(offset, &write_buf_);
    FrameEntry e;
    e.stream_id = b.h.stream_id;
    e.shard_index = b.h.shard_index;
    e.record_count = b.h.record_count;
    e.offset = offset;  // relative for now
    e.frame_len = static_cast<uint32_t>(write_buf_.size() - offset);
    e.first_counter = b.h.first_counter;
    e.first_ts = b.h.base_timestamp_ms;
    e.last_ts = b.last_ts;
    entries.push_back(e);
  }

  if (active_->size > kSegmentHeaderSize &&
      active_->size + write_buf_.size() > options_.segment_bytes) {
    MILLRACE_RETURN_IF_ERROR(SealActive());
  }
  Segment* seg = active_.get();
  uint64_t base = seg->size;
  Status st = seg->file->WriteAt(base, write_buf_.data(), write_buf_.size());
  if (st.ok() && options_.sync) st = seg->file->Sync();
  if (!st.ok()) {
    // Nothing of this batch is acknowledged: cut the file back so that no partial frame
    // sits between durable ones, and let the writers retry.
    Status t = seg->file->Truncate(base);
    if (t.ok()) t = seg->file->Sync();
    if (!t.ok()) LOG(kError) << "log: could not cut back a failed write: " << t.ToString();
    LOG(kError) << "log: group commit of " << total_items << " records failed: " << st.ToString();
    return st;
  }
  seg->size = base + write_buf_.size();
  for (FrameEntry& e : entries) {
    e.segment = seg->number;
    e.offset += base;
    AddEntry(seg, e, true);
  }
  std::lock_guard<std::mutex> l(stats_mu_);
  stats_.commits++;
  return Status::Ok();
}

// ---- Reading ----

std::shared_ptr<Journal::Segment> Journal::FindSegment(uint64_t number) const {
  std::lock_guard<std::mutex> l(segments_mu_);
  auto it = segments_.find(number);
  return it == segments_.end() ? nullptr : it->second;
}

std::shared_ptr<File> Journal::ReaderFor(uint64_t number, Status* st) {
  {
    std::lock_guard<std::mutex> l(segments_mu_);
    auto it = segments_.find(number);
    if (it == segments_.end()) return nullptr;
    if (it->second->file) return it->second->file;
  }
  std::lock_guard<std::mutex> l(readers_mu_);
  for (auto it = readers_.begin(); it != readers_.end(); ++it) {
    if (it->first != number) continue;
    readers_.splice(readers_.begin(), readers_, it);
    return readers_.front().second;
  }
  auto f = fs_->Open(options_.dir + "/" + SegmentFileName(number), false);
  if (!f.ok()) {
    if (!FindSegment(number)) return nullptr;  // removed by retention meanwhile
    *st = f.status();
    return nullptr;
  }
  readers_.emplace_front(number, std::shared_ptr<File>(std::move(*f)));
  while (readers_.size() > max_open_sealed_) readers_.pop_back();
  return readers_.front().second;
}

void Journal::ForgetReader(uint64_t number) {
  std::lock_guard<std::mutex> l(readers_mu_);
  std::erase_if(readers_, [number](const auto& r) { return r.first == number; });
}

Status Journal::Read(const ShardLog* shard, uint64_t from, size_t max_records, size_t max_bytes,
                     ReadResult* out) {
  out->records.clear();
  out->bytes = 0;
  out->next_counter = std::max(from, shard->FirstCounter());
  // Frames hold about as many bytes as the data they carry: ask for a little more
  // (saturating: max_bytes may be SIZE_MAX for "no byte limit").
  constexpr size_t kSlack = 64 << 10;
  size_t window = max_bytes > SIZE_MAX - kSlack ? SIZE_MAX : max_bytes + kSlack;
  std::vector<FrameEntry> frames = shard->FramesFrom(out->next_counter, window);
  std::string buf;
  struct Sink {
    ReadResult* out;
    size_t max_records, max_bytes;
    bool full = false;
  } sink{out, max_records, max_bytes};
  for (const FrameEntry& e : frames) {
    if (sink.full || out->records.size() >= max_records) break;
    Status open_status;
    std::shared_ptr<File> file = ReaderFor(e.segment, &open_status);
    MILLRACE_RETURN_IF_ERROR(open_status);
    if (!file) {  // removed by retention since we looked
      out->next_counter = std::max(out->next_counter, e.end_counter());
      continue;
    }
    MILLRACE_RETURN_IF_ERROR(file->ReadAt(e.offset, e.frame_len, &buf));
    if (buf.size() != e.frame_len || !VerifyFrame(buf)) {
      LOG(kError) << "log: corrupt frame in segment " << e.segment << " at offset " << e.offset
                  << " (stream " << e.stream_id << " shard " << e.shard_index << ", records "
                  << e.first_counter << ".." << e.end_counter() - 1 << "); skipped";
      std::lock_guard<std::mutex> l(stats_mu_);
      stats_.corrupt_frames++;
      out->next_counter = std::max(out->next_counter, e.end_counter());
      continue;
    }
    std::shared_ptr<const SealKey> key;
    if (std::string_view id = SealKeyIdOf(buf); !id.empty()) {
      if (!options_.keys) return Status::Internal("log: a sealed frame, and no key resolver");
      auto found = options_.keys->SealKeyFor(id);
      // What was read before this frame is answered; the next read starts here and fails.
      if (!found.ok()) return out->records.empty() ? found.status() : Status::Ok();
      key = std::move(*found);
    }
    Status st = DecodeFrameRecords(
        buf, out->next_counter, key.get(),
        [](void* ctx, Record&& r) {
          auto* s = static_cast<Sink*>(ctx);
          if (s->full) return;
          if (s->out->records.size() >= s->max_records ||
              (!s->out->records.empty() && s->out->bytes + r.data.size() > s->max_bytes)) {
            s->full = true;
            return;
          }
          s->out->bytes += r.data.size();
          s->out->next_counter = r.counter + 1;
          s->out->records.push_back(std::move(r));
        },
        &sink);
    if (!st.ok()) {
      LOG(kError) << "log: undecodable frame in segment " << e.segment << " at offset " << e.offset
                  << ": " << st.ToString() << "; skipped";
      out->next_counter = std::max(out->next_counter, e.end_counter());
    }
  }
  return Status::Ok();
}

// ---- Retention ----

Result<int> Journal::DeleteExpiredSegments(const ExpiredFn& expired, const FloorFn& on_floor) {
  int deleted = 0;
  for (;;) {
    std::shared_ptr<Segment> seg;
    {
      std::lock_guard<std::mutex> l(segments_mu_);
      if (segments_.empty()) break;
      seg = segments_.begin()->second;
      if (!seg->sealed) break;  // read under segments_mu_ (SealActive sets it there)
    }
    bool all_expired = true;
    for (const auto& [stream, newest] : seg->newest_by_stream) {
      if (!expired(stream, newest)) {
        all_expired = false;
        break;
      }
    }
    if (!all_expired) break;
    // Record how far each shard had come, then drop its frames from this segment. Every
    // floor is recorded before any frame is dropped: if one fails, the segment stays whole.
    std::vector<ShardLog*> logs;
    for (const auto& [stream, shard_index] : seg->shards) {
      ShardLog* s;
      {
        std::lock_guard<std::mutex> l(shards_mu_);
        s = GetShardLocked(stream, shard_index);
      }
      uint64_t end = 0;
      {
        std::lock_guard<std::mutex> m(s->mu_);
        for (const FrameEntry& e : s->frames_)
          if (e.segment == seg->number) end = std::max(end, e.end_counter());
      }
      if (end > 0) MILLRACE_RETURN_IF_ERROR(on_floor(stream, shard_index, end));
      logs.push_back(s);
    }
    for (ShardLog* s : logs) {
      std::lock_guard<std::mutex> m(s->mu_);
      while (!s->frames_.empty() && s->frames_.front().segment <= seg->number)
        s->frames_.pop_front();
    }
    {
      std::lock_guard<std::mutex> l(segments_mu_);
      segments_.erase(seg->number);
    }
    ForgetReader(seg->number);  // its space is freed once no reader holds it
    MILLRACE_RETURN_IF_ERROR(fs_->Remove(options_.dir + "/" + IndexFileName(seg->number)));
    MILLRACE_RETURN_IF_ERROR(fs_->Remove(options_.dir + "/" + SegmentFileName(seg->number)));
    LOG(kInfo) << "log: retention removed segment " << seg->number;
    ++deleted;
  }
  if (deleted > 0) MILLRACE_RETURN_IF_ERROR(fs_->SyncDir(options_.dir));
  return deleted;
}

JournalStats Journal::Stats() const {
  JournalStats s;
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    s = stats_;
  }
  std::lock_guard<std::mutex> l(segments_mu_);
  s.segments = segments_.size();
  for (const auto& [n, seg] : segments_) s.bytes += seg->size;
  return s;
}

}  // namespace millrace::log
