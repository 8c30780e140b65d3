// Access keys as `millrace keys` and IAM's CreateAccessKey make them. The server finds them
// (and what they may do) through iam::Directory.
#pragma once

#include <string>
#include <vector>

namespace millrace::auth {

struct AccessKey {
  std::string access_key_id;
  std::string secret;
  std::string scope;  // admin, producer, consumer
  std::vector<std::string> streams;
};

// Generates a new key id ("MRKA" + 16 upper-case base32 characters, like AWS's AKIA...) and
// a 40-character secret.
AccessKey GenerateKey(const std::string& scope, std::vector<std::string> streams);

}  // namespace millrace::auth
