// KmsService: the part of the AWS KMS API that manages Millrace's keys (AWS JSON 1.1,
// X-Amz-Target: TrentService.<Action>, SigV4 service "kms"): CreateKey, DescribeKey,
// ListKeys, EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion, CreateAlias,
// UpdateAlias, DeleteAlias, ListAliases. The keys encrypt streams at rest
// (StartStreamEncryption); cryptographic actions (Encrypt, GenerateDataKey, ...) are not
// offered and say so by name. Authentication first, then authorization of kms:<Action> on
// the key's (or alias's) ARN, as every other service of the server. docs/kms-api.md.
#pragma once

#include <optional>

#include "http/message.h"
#include "iam/directory.h"
#include "kms/key_store.h"

namespace millrace::kms {

class KmsService {
 public:
  KmsService(KeyStore* keys, iam::Directory* directory, std::string account_id, std::string region,
             bool auth)
      : keys_(keys),
        directory_(directory),
        account_(std::move(account_id)),
        region_(std::move(region)),
        auth_(auth) {}

  // A request for this service: its X-Amz-Target names TrentService.
  static bool Handles(const http::Request& req);
  void Handle(http::Request&& req, http::Responder responder);
  // The authentication error a request will get whatever its body, or nullopt.
  std::optional<http::Response> CheckHead(const http::Request& head);

 private:
  KeyStore* const keys_;
  iam::Directory* const directory_;
  const std::string account_, region_;
  const bool auth_;
};

}  // namespace millrace::kms
