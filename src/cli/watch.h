// `millrace change-streams describe NAME --watch`: the change stream's state, lag, rate and
// its initial snapshot as a progress bar per table, redrawn every second on a terminal (a
// line per second when stdout is not one), until the snapshot is done and the capture is
// STREAMING (or forever with `--watch` on a stream that never snapshots: until interrupted).
#pragma once

#include <string>

#include "cli/http_client.h"

namespace millrace::cli {

// Returns 0 once the snapshot is done, 1 on an error (printed on stderr).
int WatchChangeStream(const HttpClient& client, const std::string& path, const std::string& prog);

// One table's bar: "public.shipment  [##########----------]  50%  5,000 / 10,000 rows".
std::string ProgressLine(const std::string& table, uint64_t copied, int64_t estimated, bool done,
                         int width);

}  // namespace millrace::cli
