// What libjq reports, as text: shared by the record filter and the partition query (both
// compile a user's jq expression and evaluate it on records).
#pragma once

#include <string>

extern "C" {
#include <jv.h>
}

namespace millrace::delivery {

// jq_set_error_cb's callback: appends the message to the std::string* `data` (at most
// about 4 KiB in all, "; " between messages). Takes `msg`.
void CollectJqMessage(void* data, jv msg);

// The value as JSON text (a string's text as is). Takes `v`.
std::string JqText(jv v);

}  // namespace millrace::delivery
