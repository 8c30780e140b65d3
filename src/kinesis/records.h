// Record-level helpers shared by PutRecord and PutRecords.
#pragma once

#include <simdjson.h>

#include "common/status.h"
#include "streams/manager.h"

namespace millrace::kinesis {

// The largest record data of any stream (AWS's model: 10 MiB since UpdateMaxRecordSize);
// each stream's own maximum (1 MiB unless raised) is checked by OversizedRecords.
inline constexpr int64_t kLargestRecordBytes = 10485760;

// Reads Data (base64), PartitionKey and ExplicitHashKey of a validated entry.
Status ParsePutEntry(simdjson::dom::element e, streams::PutEntry* out);

// The ValidationException message for the entries whose data is over the stream's maximum
// record size, as AWS words it ("Value at 'records.2.member.data' ..." for PutRecords,
// `batch`; "Value at 'data'" for PutRecord), or nullopt if none is. The caller holds no lock.
std::optional<std::string> OversizedRecords(const streams::Stream& stream,
                                            const std::vector<streams::PutEntry>& entries,
                                            bool batch);

}  // namespace millrace::kinesis
