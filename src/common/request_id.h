// Request ids as AWS's JSON and query services send them (x-amzn-RequestId): a random
// UUID, version 4 ("8f3c2a1e-5b7d-4c9e-a1b2-0123456789ab"). Thread-safe.
#pragma once

#include <string>

namespace millrace {

std::string NewRequestId();
// An extended request id (x-amz-id-2), as AWS sends beside x-amzn-RequestId: 64 base64
// characters of random bytes.
std::string NewExtendedRequestId();

}  // namespace millrace
