#include "cli/share.h"

#include <cstdlib>
#include <iostream>

#include "catalog/catalog.h"
#include "common/crypto.h"
#include "common/json_writer.h"
#include "delivery/spec.h"
#include "iam/directory.h"
#include "iam/store.h"
#include "log/file.h"

namespace millrace::cli {
namespace {

constexpr const char* kHelp = R"(Usage:
  millrace share [--data-dir DIR] (--dataset NAME | --bucket NAME) [--prefix PREFIX]
                 --customer NAME (--keys | --role --customer-account ID)
      Gives a customer read-only access to their data, the two ways the seed names, and
      prints what to hand them as JSON:
        --keys   a user "share-NAME" with an access key pair (AccessKeyId,
                 SecretAccessKey) that may list and download objects under the prefix,
                 and nothing else;
        --role   a role "share-NAME" (RoleArn) with a fresh ExternalId, trusting the
                 customer's account ID: a user there may assume it (sts:AssumeRole
                 with the ExternalId) and then list and download objects under the prefix.
                 If that account is new to this server it is made, with a user
                 "NAME" and an access key (SourceAccessKeyId, SourceSecretAccessKey) that
                 may only assume the role: the customer's source_profile.
      The bucket is the dataset's (or --bucket), the prefix the dataset's own prefix
      followed by --prefix (a folder: it always ends in '/'). docs/sharing.md shows the
      customer's side (boto3, ~/.aws/config with role_arn and external_id, aws s3 sync,
      rclone).
  millrace share revoke [--data-dir DIR] --customer NAME
      Deletes what `share` made for the customer in this server's account (user, keys,
      role, policies); their credentials and sessions stop working within a second.

--data-dir defaults to $MILLRACE_DATA_DIR, else ./data. The account is the server's
(--account-id of `millrace serve`, recorded in the catalog when it starts).
)";

std::string Quote(const std::string& s) {
  std::string out;
  JsonWriter::Quote(s, &out);
  return out;
}

std::string ReadPolicy(const std::string& bucket, const std::string& prefix) {
  std::string list =
      "{\"Sid\":\"ListTheirFolder\",\"Effect\":\"Allow\",\"Action\":\"s3:ListBucket\","
      "\"Resource\":" +
      Quote("arn:aws:s3:::" + bucket);
  if (!prefix.empty())
    list += ",\"Condition\":{\"StringLike\":{\"s3:prefix\":[" + Quote(prefix + "*") + "]}}";
  list += "}";
  return "{\"Version\":\"2012-10-17\",\"Statement\":[" + list +
         ",{\"Sid\":\"ReadTheirFiles\",\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\","
         "\"Resource\":" +
         Quote("arn:aws:s3:::" + bucket + "/" + prefix + "*") +
         "},{\"Sid\":\"Locate\",\"Effect\":\"Allow\",\"Action\":\"s3:GetBucketLocation\","
         "\"Resource\":" +
         Quote("arn:aws:s3:::" + bucket) + "}]}";
}

std::string NewExternalId() {
  static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  uint8_t raw[32];
  crypto::RandomBytes(raw, sizeof raw);
  std::string id;
  for (uint8_t b : raw) id.push_back(kChars[b % 62]);
  return id;
}

int Fail(const iam::IamError& e) {
  std::cerr << "millrace share: " << e.code << ": " << e.message << "\n";
  return 1;
}

}  // namespace

std::string OperatorAccount(catalog::Catalog* catalog) {
  auto d = catalog->GetDoc(catalog::DocKind::kAccount, kOperatorAccountDoc);
  if (d.ok() && *d) {
    std::string id = (*d)->spec;
    if (id.size() == 12 && id.find_first_not_of("0123456789") == std::string::npos) return id;
  }
  return "000000000000";
}

int Share(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << kHelp;
    return 0;
  }
  std::string data_dir =
      std::getenv("MILLRACE_DATA_DIR") ? std::getenv("MILLRACE_DATA_DIR") : "./data";
  std::string dataset, bucket, prefix, customer, customer_account;
  bool keys = false, role = false, revoke = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) {
        std::cerr << "millrace share: " << a << " needs a value\n";
        return false;
      }
      *out = args[++i];
      return true;
    };
    bool ok = true;
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      return 0;
    } else if (i == 0 && a == "revoke") {
      revoke = true;
    } else if (a == "--data-dir") {
      ok = value(&data_dir);
    } else if (a == "--dataset") {
      ok = value(&dataset);
    } else if (a == "--bucket") {
      ok = value(&bucket);
    } else if (a == "--prefix") {
      ok = value(&prefix);
    } else if (a == "--customer") {
      ok = value(&customer);
    } else if (a == "--customer-account") {
      ok = value(&customer_account);
    } else if (a == "--keys") {
      keys = true;
    } else if (a == "--role") {
      role = true;
    } else {
      std::cerr << "millrace share: unknown argument " << a << "\n" << kHelp;
      return 2;
    }
    if (!ok) return 2;
  }
  if (!iam::ValidIamName(customer, 50)) {
    std::cerr << "millrace share: --customer NAME is required: 1-50 of letters, digits and "
                 "_+=,.@-\n";
    return 2;
  }
  if (!revoke && keys == role) {
    std::cerr << "millrace share: say --keys (an access key pair) or --role (a role ARN and "
                 "ExternalId for the customer's account)\n";
    return 2;
  }
  if (role && (customer_account.size() != 12 ||
               customer_account.find_first_not_of("0123456789") != std::string::npos)) {
    std::cerr << "millrace share: --role needs --customer-account, the customer's 12-digit "
                 "account ID\n";
    return 2;
  }
  if (!revoke && dataset.empty() == bucket.empty()) {
    std::cerr << "millrace share: name the data: --dataset NAME or --bucket NAME\n";
    return 2;
  }
  auto catalog = catalog::Catalog::Open(data_dir + "/catalog.db");
  if (!catalog.ok()) {
    std::cerr << "millrace share: " << catalog.status().message() << "\n";
    return 1;
  }
  const std::string account = OperatorAccount(catalog->get());
  iam::IamStore store(catalog->get(), account);
  const std::string name = "share-" + customer;

  if (revoke) {
    bool found = false;
    if (auto keys_of = store.ListAccessKeys(account, name);
        auto* list = std::get_if<std::vector<iam::AccessKeyInfo>>(&keys_of)) {
      found = true;
      for (const auto& k : *list) (void)store.DeleteAccessKey(account, name, k.access_key_id);
      (void)store.DeleteInline(false, account, name, "read");
      if (auto e = store.DeleteUser(account, name)) return Fail(*e);
    }
    if (auto r = store.GetRole(account, name); r.index() == 0) {
      found = true;
      (void)store.DeleteInline(true, account, name, "read");
      if (auto e = store.DeleteRole(account, name)) return Fail(*e);
    }
    if (!found) {
      std::cerr << "millrace share revoke: nothing is shared with " << customer << "\n";
      return 1;
    }
    std::cout << "revoked what was shared with " << customer << "\n";
    return 0;
  }

  if (!dataset.empty()) {
    auto row = (*catalog)->GetDoc(catalog::DocKind::kDataset, dataset);
    if (!row.ok() || !*row) {
      std::cerr << "millrace share: no dataset named " << dataset << "\n";
      return 1;
    }
    auto spec = delivery::ParseDataset((*row)->spec);
    if (!spec.ok() || spec->target.type != "local") {
      std::cerr << "millrace share: dataset " << dataset
                << " is not delivered locally (an s3 target's bucket is shared by that S3)\n";
      return 1;
    }
    if (spec->target.bucket.empty()) {
      bucket = delivery::BucketOf(spec->name);
    } else {
      bucket = spec->target.bucket;
      prefix = spec->target.prefix + prefix;
    }
  }
  if (!prefix.empty() && prefix.back() != '/') prefix.push_back('/');
  if (prefix.starts_with("/") || prefix.find("/../") != std::string::npos ||
      prefix.starts_with("../") || prefix.find("*") != std::string::npos) {
    std::cerr << "millrace share: --prefix must be a folder inside the bucket (no leading '/', "
                 "'..' or '*')\n";
    return 2;
  }
  const std::string policy = ReadPolicy(bucket, prefix);
  std::string out = "{\"Customer\": " + Quote(customer) + ", \"Bucket\": " + Quote(bucket) +
                    ", \"Prefix\": " + Quote(prefix);

  if (keys) {
    auto user = store.CreateUser(account, name, "/");
    if (auto* e = std::get_if<iam::IamError>(&user)) return Fail(*e);
    if (auto e = store.PutInline(false, account, name, "read", policy)) return Fail(*e);
    auto key = store.CreateAccessKey(account, name);
    if (auto* e = std::get_if<iam::IamError>(&key)) return Fail(*e);
    const auto& k = std::get<iam::AccessKeyInfo>(key);
    out += ", \"UserArn\": " + Quote(iam::UserArn(account, "/", name)) +
           ", \"AccessKeyId\": " + Quote(k.access_key_id) +
           ", \"SecretAccessKey\": " + Quote(k.secret) + "}";
    std::cout << out << "\n";
    return 0;
  }

  const std::string external_id = NewExternalId();
  iam::RoleDoc r;
  r.account = account;
  r.name = name;
  r.description = "read-only access for " + customer;
  r.trust =
      "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
      "{\"AWS\":" +
      Quote("arn:aws:iam::" + customer_account + ":root") +
      "},\"Action\":\"sts:AssumeRole\",\"Condition\":{\"StringEquals\":"
      "{\"sts:ExternalId\":" +
      Quote(external_id) + "}}}]}";
  auto made = store.CreateRole(r);
  if (auto* e = std::get_if<iam::IamError>(&made)) return Fail(*e);
  if (auto e = store.PutInline(true, account, name, "read", policy)) return Fail(*e);
  const std::string role_arn = iam::RoleArn(account, "/", name);
  out += ", \"RoleArn\": " + Quote(role_arn) + ", \"ExternalId\": " + Quote(external_id) +
         ", \"CustomerAccount\": " + Quote(customer_account);
  if (!store.AccountExists(customer_account)) {
    // The customer's account lives on this server: give them an identity there that may
    // only assume the role (their source_profile).
    if (auto e = store.CreateAccount(customer_account, customer)) return Fail(*e);
    auto user = store.CreateUser(customer_account, customer, "/");
    if (auto* e = std::get_if<iam::IamError>(&user)) return Fail(*e);
    std::string assume =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
        "\"Action\":\"sts:AssumeRole\",\"Resource\":\"arn:aws:iam::*:role/share-" +
        customer + "\"}]}";
    if (auto e = store.PutInline(false, customer_account, customer, "assume", assume))
      return Fail(*e);
    auto key = store.CreateAccessKey(customer_account, customer);
    if (auto* e = std::get_if<iam::IamError>(&key)) return Fail(*e);
    const auto& k = std::get<iam::AccessKeyInfo>(key);
    out += ", \"SourceUserArn\": " + Quote(iam::UserArn(customer_account, "/", customer)) +
           ", \"SourceAccessKeyId\": " + Quote(k.access_key_id) +
           ", \"SourceSecretAccessKey\": " + Quote(k.secret);
  }
  std::cout << out << "}\n";
  return 0;
}

}  // namespace millrace::cli
