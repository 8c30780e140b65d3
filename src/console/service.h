// Serves the web console (docs/console.md) at /console/: its page and the two bundles it
// names, from the binary (assets.h). Nothing here reads data: the page signs its own
// requests to the public APIs (Kinesis, the control API, S3, STS) with the user's key.
#pragma once

#include "http/message.h"

namespace millrace::console {

// A GET or HEAD of /console or below it.
bool Handles(const http::Request& req);

// /console: a redirect to /console/; /console/: the page; /console/<asset>: the asset,
// gzipped when the client accepts it, with ETag (304 for If-None-Match) and Cache-Control
// (a year for hashed names, revalidated for the page); anything else 404.
http::Response Serve(const http::Request& req);

}  // namespace millrace::console
