// JSON helpers of the control API (and of the CLI that builds its bodies): merging an update
// into a stored document, adding members to a serialized object, and timestamps.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/json_writer.h"
#include "common/status.h"

namespace millrace::control {

// Applies `patch` to `base`, both JSON objects, as JSON Merge Patch (RFC 7396) does: a
// member of the patch replaces the base's, a null removes it, and an object merges into an
// object member by member, with one exception: an object whose "type" member differs from
// the base's ({"type": "local"} over an s3 target) replaces it whole, since the members of
// one type mean nothing to another. InvalidArgument ("the body is not valid JSON", "the
// body must be a JSON object") when `patch` is not an object; `base` is trusted.
Result<std::string> MergePatch(std::string_view base, std::string_view patch);

// Appends members to `object`, a serialized JSON object ("{...}"): `write` is given a
// writer positioned inside the object, to call Key()/value pairs on.
void AddMembers(std::string* object, const std::function<void(JsonWriter&)>& write);

// 1763708494123 -> "2025-11-21T07:01:34.123Z" (UTC, milliseconds).
std::string IsoTime(int64_t unix_ms);

// The body as a JSON object string: InvalidArgument naming what is wrong when it is empty,
// not JSON, or not an object.
Status CheckObject(std::string_view body);

}  // namespace millrace::control
