// KPL aggregation (the Kinesis Producer Library's aggregated records): a record whose data
// is the magic 0xF3 0x89 0x9A 0xC2, then an AggregatedRecord protocol buffer, then the MD5
// of that protocol buffer, holds many user records:
//
//   message AggregatedRecord { repeated string partition_key_table = 1;
//                              repeated string explicit_hash_key_table = 2;
//                              repeated Record records = 3; }
//   message Record { required uint64 partition_key_index = 1;
//                    optional uint64 explicit_hash_key_index = 2;
//                    required bytes data = 3; repeated Tag tags = 4; }
//
// Consumers deliver the user records, one by one, as Firehose does for a Kinesis source.
// Anything that is not exactly this (no magic, a wrong MD5, a malformed buffer, an index
// out of its table) is an ordinary record and delivered as it is.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace millrace::delivery {

struct UserRecord {
  std::string partition_key;
  std::string data;
};

// The user records of an aggregated record, or false (and *out untouched) for any other.
bool Deaggregate(std::string_view data, std::vector<UserRecord>* out);

}  // namespace millrace::delivery
