// AWS's event stream encoding (application/vnd.amazon.eventstream), the framing of
// SubscribeToShard's answer: a sequence of messages, each
//
//   total length u32 BE | headers length u32 BE | CRC32 of those 8 bytes u32 BE |
//   headers | payload | CRC32 of everything before u32 BE
//
// with each header as name length u8 | name | type u8 (7: string) | value length u16 BE |
// value. CRC32 is ISO-HDLC's (zlib's crc32). docs/format/eventstream.md has it byte by byte.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace millrace::kinesis {

using EventHeaders = std::vector<std::pair<std::string_view, std::string_view>>;

// Appends one message with string-valued headers to *out.
void AppendEventMessage(const EventHeaders& headers, std::string_view payload, std::string* out);

// An event (":message-type" event) of type `event_type`, payload of `content_type`.
void AppendEvent(std::string_view event_type, std::string_view content_type,
                 std::string_view payload, std::string* out);
// An exception (":message-type" exception) of type `exception_type`.
void AppendException(std::string_view exception_type, std::string_view content_type,
                     std::string_view payload, std::string* out);

}  // namespace millrace::kinesis
