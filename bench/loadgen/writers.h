// The writers: PutRecord / PutRecords load over many keep-alive connections, one epoll loop
// per thread (LoadOptions::threads), closed loop or at a fixed rate; see bench/loadgen.cc for
// how the measurements are defined.
#pragma once

#include "common/status.h"
#include "loadgen/kinesis_client.h"
#include "loadgen/options.h"

namespace millrace::bench {

// Runs o.mode (put-record, put-record-shards or put-records) for the warm-up and the
// duration, or until o.until_bytes are acknowledged, then prints the report. Each thread
// signs with its own copy of `signer`.
Status RunWriters(const LoadOptions& o, const Endpoint& ep, const RequestSigner& signer);

}  // namespace millrace::bench
