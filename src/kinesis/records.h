// Record-level helpers shared by PutRecord and PutRecords.
#pragma once

#include <simdjson.h>

#include "common/status.h"
#include "streams/manager.h"

namespace millrace::kinesis {

inline constexpr int64_t kMaxRecordBytes = 1048576;  // 1 MiB of data per record

// Reads Data (base64), PartitionKey and ExplicitHashKey of a validated entry.
Status ParsePutEntry(simdjson::dom::element e, streams::PutEntry* out);

}  // namespace millrace::kinesis
