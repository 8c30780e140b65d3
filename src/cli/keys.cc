#include "cli/keys.h"

#include <cstdlib>
#include <iostream>

#include "auth/keystore.h"
#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/json_writer.h"
#include "log/file.h"

namespace millrace::cli {
namespace {

constexpr const char* kHelp = R"(Usage:
  millrace keys create [--data-dir DIR] --scope admin|producer|consumer [--stream NAME]...
                       [--description TEXT]
  millrace keys create [--data-dir DIR] --scope bucket-read|bucket-write --bucket NAME...
                       [--description TEXT]
      Creates a key and prints it once, as JSON: {"AccessKeyId", "SecretAccessKey",
      "Scope", "Streams"} ("Buckets" for a bucket key). A producer key may only write
      to its streams (PutRecord, PutRecords) and describe them (DescribeStream,
      DescribeStreamSummary, ListShards); a consumer key may only read its streams (the
      same three, GetShardIterator, GetRecords); a bucket-read key may only list and
      download the objects of its buckets through the S3 API (a dataset's bucket is in
      `GET /api/v1/datasets/NAME`); a bucket-write key may also upload, copy and delete
      objects there (not create or delete buckets, or set their lifecycle); an admin key
      may do everything.
  millrace keys list [--data-dir DIR]
      Lists keys as a JSON array (no secrets), revoked ones with RevokedAt.
  millrace keys revoke [--data-dir DIR] KEY_ID
      Revokes a key; a running server refuses it within a second.

--data-dir defaults to $MILLRACE_DATA_DIR, else ./data.
)";

std::string Quote(const std::string& s) {
  std::string out;
  JsonWriter::Quote(s, &out);
  return out;
}

}  // namespace

int Keys(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kHelp;
    return args.empty() ? 2 : 0;
  }
  std::string sub = args[0];
  std::string data_dir =
      std::getenv("MILLRACE_DATA_DIR") ? std::getenv("MILLRACE_DATA_DIR") : "./data";
  std::string scope, description;
  // The resources a key may use: streams, or buckets for a bucket-read key (one column).
  std::vector<std::string> streams, positional;
  bool saw_stream = false, saw_bucket = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) -> bool {
      if (i + 1 >= args.size()) {
        std::cerr << "millrace keys: " << a << " needs a value\n";
        return false;
      }
      *out = args[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      return 0;
    } else if (a == "--data-dir") {
      if (!value(&data_dir)) return 2;
    } else if (a == "--scope") {
      if (!value(&scope)) return 2;
    } else if (a == "--stream" || a == "--bucket") {
      std::string s;
      if (!value(&s)) return 2;
      streams.push_back(s);
      (a == "--stream" ? saw_stream : saw_bucket) = true;
    } else if (a == "--description") {
      if (!value(&description)) return 2;
    } else if (a.rfind("--", 0) == 0) {
      std::cerr << "millrace keys: unknown flag " << a << "\n";
      return 2;
    } else {
      positional.push_back(a);
    }
  }
  if (sub != "create" && sub != "list" && sub != "revoke") {
    std::cerr << "millrace keys: unknown subcommand '" << sub << "'\n" << kHelp;
    return 2;
  }
  if (log::FileSystem::Posix()->CreateDir(data_dir).ok() == false) {
    std::cerr << "millrace keys: cannot create " << data_dir << "\n";
    return 1;
  }
  auto catalog = catalog::Catalog::Open(data_dir + "/catalog.db");
  if (!catalog.ok()) {
    std::cerr << "millrace keys: " << catalog.status().message() << "\n";
    return 1;
  }
  if (sub == "create") {
    if (scope != "admin" && scope != "producer" && scope != "consumer" && scope != "bucket-read" &&
        scope != "bucket-write") {
      std::cerr << "millrace keys create: --scope must be admin, producer, consumer, "
                   "bucket-read or bucket-write\n";
      return 2;
    }
    const bool buckets = scope == "bucket-read" || scope == "bucket-write";
    if ((buckets && saw_stream) || (!buckets && saw_bucket)) {
      std::cerr << "millrace keys create: " << (buckets ? "--stream" : "--bucket")
                << " does not go with --scope " << scope << "\n";
      return 2;
    }
    if (scope != "admin" && streams.empty()) {
      std::cerr << "millrace keys create: a " << scope << " key needs at least one "
                << (buckets ? "--bucket" : "--stream") << "\n";
      return 2;
    }
    if (scope == "admin" && !streams.empty()) {
      std::cerr << "millrace keys create: an admin key covers every stream; drop --stream\n";
      return 2;
    }
    auth::AccessKey k = auth::GenerateKey(scope, streams);
    catalog::KeyRow row;
    row.access_key_id = k.access_key_id;
    row.secret = k.secret;
    row.scope = scope;
    row.streams = streams;
    row.created_ms = SystemClock::Default()->NowMillis();
    row.description = description;
    Status st = (*catalog)->CreateKey(row);
    if (!st.ok()) {
      std::cerr << "millrace keys create: " << st.message() << "\n";
      return 1;
    }
    std::cout << "{\"AccessKeyId\": " << Quote(k.access_key_id)
              << ", \"SecretAccessKey\": " << Quote(k.secret) << ", \"Scope\": " << Quote(scope)
              << (buckets ? ", \"Buckets\": [" : ", \"Streams\": [");
    for (size_t i = 0; i < streams.size(); ++i) std::cout << (i ? ", " : "") << Quote(streams[i]);
    std::cout << "]}\n";
    return 0;
  }
  if (sub == "list") {
    auto keys = (*catalog)->ListKeys();
    if (!keys.ok()) {
      std::cerr << "millrace keys list: " << keys.status().message() << "\n";
      return 1;
    }
    std::cout << "[";
    bool first = true;
    for (const auto& k : *keys) {
      std::cout << (first ? "\n" : ",\n") << "  {\"AccessKeyId\": " << Quote(k.access_key_id)
                << ", \"Scope\": " << Quote(k.scope)
                << (k.scope.starts_with("bucket-") ? ", \"Buckets\": [" : ", \"Streams\": [");
      for (size_t i = 0; i < k.streams.size(); ++i)
        std::cout << (i ? ", " : "") << Quote(k.streams[i]);
      std::cout << "], \"CreatedAt\": " << k.created_ms / 1000
                << ", \"Description\": " << Quote(k.description);
      if (k.revoked_ms) std::cout << ", \"RevokedAt\": " << *k.revoked_ms / 1000;
      std::cout << "}";
      first = false;
    }
    std::cout << (first ? "]\n" : "\n]\n");
    return 0;
  }
  // revoke
  if (positional.size() != 1) {
    std::cerr << "millrace keys revoke: name exactly one KEY_ID\n";
    return 2;
  }
  Status st = (*catalog)->RevokeKey(positional[0], SystemClock::Default()->NowMillis());
  if (!st.ok()) {
    std::cerr << "millrace keys revoke: " << st.message() << "\n";
    return 1;
  }
  std::cout << "revoked " << positional[0] << "\n";
  return 0;
}

}  // namespace millrace::cli
