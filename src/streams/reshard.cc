// StreamManager: resharding. Parents are closed (their ending counter fixed) and children
// created in one catalog transaction, under the stream's exclusive lock so that no write
// is routed to a parent after it closes. The stream shows UPDATING for the transition time.
#include <algorithm>

#include "common/logging.h"
#include "streams/manager.h"

namespace millrace::streams {

void StreamManager::CloseShard(Stream& s, Shard& shard) {
  // Writes take the stream lock shared and get their counters inside it, so under the
  // exclusive lock every counter this shard will ever have is assigned already.
  (void)s;
  uint64_t end = journal_->NextCounter(shard.log);
  shard.end_exclusive = end;
  shard.ending_counter = end > shard.starting_counter ? end - 1 : shard.starting_counter;
  shard.closed_ms = clock_->NowMillis();
}

Status StreamManager::NotEligible(const Stream& s, const Shard& shard) const {
  return Status::InvalidArgument("Shard " + shard.Id() + " in stream " + s.name +
                                 " under account " + options_.account_id +
                                 " has already been merged or split, and thus is not eligible "
                                 "for merging or splitting.");
}

Status StreamManager::SplitShard(const std::string& name, const std::string& shard_id,
                                 uint128 new_start) {
  auto got = Get(name);
  if (!got.ok()) return got.status();
  Stream& s = **got;
  std::unique_lock<std::shared_mutex> w(s.mu);
  MILLRACE_RETURN_IF_ERROR(CheckActiveForUpdate(s));
  auto index = ParseShardId(shard_id);
  Shard* parent = index ? s.FindShard(*index) : nullptr;
  if (parent && !parent->open()) return NotEligible(s, *parent);
  if (!parent)
    return Status::NotFound("Could not find shard " + shard_id + " in stream " + name +
                            " under account " + options_.account_id + ".");
  if (new_start <= parent->range.start + 1 || new_start >= parent->range.end)
    return Status::InvalidArgument(
        "NewStartingHashKey " + Uint128ToDecimal(new_start) + " used in SplitShard() on shard " +
        parent->Id() + " in stream " + name + " under account " + options_.account_id +
        " is not both greater than one plus the shard's StartingHashKey " +
        Uint128ToDecimal(parent->range.start) + " and less than the shard's EndingHashKey " +
        Uint128ToDecimal(parent->range.end) + ".");
  w.unlock();
  MILLRACE_RETURN_IF_ERROR(CheckShardLimit(1));
  w.lock();
  MILLRACE_RETURN_IF_ERROR(CheckActiveForUpdate(s));
  if (!parent->open())
    return Status::NotFound("Could not find shard " + shard_id + " in stream " + name +
                            " under account " + options_.account_id + ".");

  CloseShard(s, *parent);
  auto left = NewShard(s, {parent->range.start, new_start - 1}, parent->index, std::nullopt);
  auto right = NewShard(s, {new_start, parent->range.end}, parent->index, std::nullopt);
  std::vector<const Shard*> changed = {parent, left.get(), right.get()};
  s.shards.push_back(std::move(left));
  s.shards.push_back(std::move(right));
  s.RebuildRouting();
  if (options_.transition_ms > 0) {
    s.status = StreamStatus::kUpdating;
    s.status_changed_ms = clock_->NowMillis();
  }
  LOG(kInfo) << "streams: split " << parent->Id() << " of " << name;
  return PersistStream(s, changed);
}

Status StreamManager::MergeShards(const std::string& name, const std::string& shard_id,
                                  const std::string& adjacent_id) {
  auto got = Get(name);
  if (!got.ok()) return got.status();
  Stream& s = **got;
  std::unique_lock<std::shared_mutex> w(s.mu);
  MILLRACE_RETURN_IF_ERROR(CheckActiveForUpdate(s));
  auto find = [&](const std::string& id) -> Shard* {
    auto index = ParseShardId(id);
    return index ? s.FindShard(*index) : nullptr;
  };
  Shard* a = find(shard_id);
  if (!a)
    return Status::NotFound("Could not find shard " + shard_id + " in stream " + name +
                            " under account " + options_.account_id + ".");
  Shard* b = find(adjacent_id);
  if (!b)
    return Status::NotFound("Could not find shard " + adjacent_id + " in stream " + name +
                            " under account " + options_.account_id + ".");
  if (!a->open()) return NotEligible(s, *a);
  if (!b->open()) return NotEligible(s, *b);
  bool adjacent = (a->range.end != kUint128Max && a->range.end + 1 == b->range.start) ||
                  (b->range.end != kUint128Max && b->range.end + 1 == a->range.start);
  if (!adjacent || a == b)
    return Status::InvalidArgument("Shards " + a->Id() + " and " + b->Id() + " in stream " + name +
                                   " under account " + options_.account_id +
                                   " are not an adjacent pair of shards eligible for merging");
  CloseShard(s, *a);
  CloseShard(s, *b);
  HashRange merged{std::min(a->range.start, b->range.start), std::max(a->range.end, b->range.end)};
  auto child = NewShard(s, merged, a->index, b->index);
  std::vector<const Shard*> changed = {a, b, child.get()};
  s.shards.push_back(std::move(child));
  s.RebuildRouting();
  if (options_.transition_ms > 0) {
    s.status = StreamStatus::kUpdating;
    s.status_changed_ms = clock_->NowMillis();
  }
  LOG(kInfo) << "streams: merged " << a->Id() << " and " << b->Id() << " of " << name;
  return PersistStream(s, changed);
}

// UNIFORM_SCALING: the open shards are replaced by `target` shards that divide the key
// space evenly. Each new shard's parent is the old shard holding its first hash key, and
// its adjacent parent the old shard holding its last one, if another. (AWS limits a
// change to between half and double the open shards, so no new shard spans more than two
// old ones when the old ones were even.)
Status StreamManager::UpdateShardCount(const std::string& name, int target) {
  auto got = Get(name);
  if (!got.ok()) return got.status();
  Stream& s = **got;
  int current;
  {
    std::shared_lock<std::shared_mutex> r(s.mu);
    MILLRACE_RETURN_IF_ERROR(CheckActiveForUpdate(s));
    current = s.OpenShardCount();
  }
  if (target > 2 * current || target * 2 < current)
    return Status::InvalidArgument(
        "UpdateShardCount request for stream " + name + " under account " + options_.account_id +
        " is not valid. The target shard count must be within the range of half to double the "
        "current open shard count (" +
        std::to_string(current) + ").");
  if (target > current) MILLRACE_RETURN_IF_ERROR(CheckShardLimit(target - current));
  std::unique_lock<std::shared_mutex> w(s.mu);
  MILLRACE_RETURN_IF_ERROR(CheckActiveForUpdate(s));
  if (s.OpenShardCount() != current)
    return Status::FailedPrecondition("Stream " + name + " under account " + options_.account_id +
                                      " changed while scaling; retry.");
  std::vector<Shard*> old = s.open_by_start;
  std::vector<const Shard*> changed;
  for (Shard* sh : old) {
    CloseShard(s, *sh);
    changed.push_back(sh);
  }
  auto holder = [&](uint128 key) -> Shard* {
    for (Shard* sh : old)
      if (sh->range.Contains(key)) return sh;
    return nullptr;
  };
  for (const HashRange& r : EvenRanges(target)) {
    Shard* p = holder(r.start);
    Shard* q = holder(r.end);
    std::optional<uint32_t> parent, adjacent;
    if (p) parent = p->index;
    if (q && q != p) adjacent = q->index;
    auto child = NewShard(s, r, parent, adjacent);
    changed.push_back(child.get());
    s.shards.push_back(std::move(child));
  }
  s.RebuildRouting();
  if (options_.transition_ms > 0) {
    s.status = StreamStatus::kUpdating;
    s.status_changed_ms = clock_->NowMillis();
  }
  LOG(kInfo) << "streams: scaled " << name << " from " << current << " to " << target << " shards";
  return PersistStream(s, changed);
}

}  // namespace millrace::streams
