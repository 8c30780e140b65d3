// Access keys as `millrace keys` and IAM's CreateAccessKey make them. The server finds them
// (and what they may do) through iam::Directory.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace millrace::auth {

struct AccessKey {
  std::string access_key_id;
  std::string secret;
  std::string scope;  // admin, producer, consumer
  std::vector<std::string> streams;
};

// `prefix` and `length` (at most 64) characters of A-Z2-7 from the system's CSPRNG: access
// key ids ("MRKA", 16), session key ids ("ASIA", 16), IAM ids ("AIDA", 17).
std::string RandomId(std::string_view prefix, int length);
// 40 characters of A-Za-z0-9+/ from the system's CSPRNG, as AWS's secret access keys.
std::string RandomSecret();

// Generates a new key id ("MRKA" + 16 upper-case base32 characters, like AWS's AKIA...) and
// a 40-character secret.
AccessKey GenerateKey(const std::string& scope, std::vector<std::string> streams);

}  // namespace millrace::auth
