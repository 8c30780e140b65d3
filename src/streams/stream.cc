#include "streams/stream.h"

#include <algorithm>
#include <cstdio>

namespace millrace::streams {

const char* StatusName(StreamStatus s) {
  switch (s) {
    case StreamStatus::kCreating:
      return "CREATING";
    case StreamStatus::kActive:
      return "ACTIVE";
    case StreamStatus::kUpdating:
      return "UPDATING";
    case StreamStatus::kDeleting:
      return "DELETING";
  }
  return "ACTIVE";
}

const char* ModeName(StreamMode m) {
  return m == StreamMode::kOnDemand ? "ON_DEMAND" : "PROVISIONED";
}

std::string ShardIdOf(uint32_t index) {
  std::string id = "shardId-000000000000";
  for (size_t i = id.size(); index > 0 && i > 8; --i) {
    id[i - 1] = static_cast<char>('0' + index % 10);
    index /= 10;
  }
  return id;
}

std::string Shard::Id() const { return ShardIdOf(index); }

std::optional<uint32_t> ParseShardId(std::string_view id) {
  // AWS reads the number after the last '-', or the whole id when it has none:
  // "shardId-000000000001", "shardId-1", "1" and "anything-1" all name shard 1.
  std::string_view digits = id;
  if (size_t dash = digits.rfind('-'); dash != std::string_view::npos)
    digits.remove_prefix(dash + 1);
  if (digits.empty() || digits.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > UINT32_MAX) return std::nullopt;
  }
  return static_cast<uint32_t>(v);
}

Shard* Stream::FindShard(uint32_t index) const {
  for (const auto& s : shards)
    if (s->index == index) return s.get();
  return nullptr;
}

Shard* Stream::RouteHashKey(uint128 key) const {
  auto it = std::upper_bound(open_by_start.begin(), open_by_start.end(), key,
                             [](uint128 k, const Shard* s) { return k < s->range.start; });
  if (it == open_by_start.begin()) return nullptr;
  Shard* s = *(it - 1);
  return s->range.Contains(key) ? s : nullptr;
}

void Stream::RebuildRouting() {
  open_by_start.clear();
  for (const auto& s : shards)
    if (s->open()) open_by_start.push_back(s.get());
  std::sort(open_by_start.begin(), open_by_start.end(),
            [](const Shard* a, const Shard* b) { return a->range.start < b->range.start; });
}

}  // namespace millrace::streams
