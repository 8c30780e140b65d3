// Catalog: the server's metadata in an embedded SQLite database (<data-dir>/catalog.db):
// streams, their shards (hash ranges, lineage, counters), tags, and access keys.
//
// Every write is a transaction committed durably (WAL, synchronous=FULL) before it
// returns. Thread-safe: one connection behind a mutex (metadata changes are rare; the
// record path never touches the catalog). Several processes may open the same catalog
// (`millrace keys` while the server runs); SQLite serializes them.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/thread_annotations.h"

struct sqlite3;

namespace millrace::catalog {

struct ShardRow {
  uint64_t stream_id = 0;
  uint32_t shard_index = 0;
  std::optional<uint32_t> parent;
  std::optional<uint32_t> adjacent_parent;
  std::string start_hash;  // decimal
  std::string end_hash;    // decimal
  int64_t created_ms = 0;
  std::optional<int64_t> closed_ms;
  uint64_t starting_counter = 0;
  std::optional<uint64_t> ending_counter;  // last counter, inclusive (set when closed)
  uint64_t counter_floor = 0;              // counters of this shard start at or above this
};

struct StreamRow {
  uint64_t id = 0;
  std::string name;
  std::string status;  // CREATING, ACTIVE, UPDATING, DELETING
  int64_t created_ms = 0;
  int64_t status_changed_ms = 0;
  int retention_hours = 24;
  std::string mode;  // PROVISIONED or ON_DEMAND
  std::string encryption_type = "NONE";
  std::string key_id;
  int64_t mode_changed_ms = 0;
  uint32_t next_shard_index = 0;
  // A pending change applied when the UPDATING period ends, as JSON (see streams/).
  std::string pending;
};

struct TagRow {
  std::string key;
  std::string value;
};

// A named configuration document (a dataset, a consumer, a transformation, a change
// stream), stored as JSON. `version` starts at 1 and grows with every update. A change
// stream's capture state (kChangeStreamState: whether its slot and snapshot are done) is
// a document of its own, so that it does not change the configuration's version.
enum class DocKind {
  kDataset,
  kConsumer,
  kTransformation,
  kChangeStream,
  kChangeStreamState,
  kBucket,           // a bucket made through the S3 API (not a dataset's)
  kBucketLifecycle,  // a bucket's lifecycle rules, by bucket name
  kAccount,          // an account (12-digit id) other than the operator's
  kIamUser,          // by "<account>/<user name>"
  kIamRole,          // by "<account>/<role name>"
  kIamPolicy,        // a managed policy, by "<account>/<policy name>"
  kBucketPolicy,     // a bucket's policy, by bucket name
  kStreamPolicy,     // a stream's resource policy, by stream ARN
  kStreamConsumer,   // an enhanced fan-out consumer, by "<stream name>/<consumer name>"
  kStreamSettings,   // a stream's shard-level metrics, maximum record size and warm
                     // throughput, by stream name
  kKinesisAccount,   // the account's Kinesis settings (UpdateAccountSettings), by account id
  kKmsKey,           // a KMS key (its material sealed under secret.key), by key id
  kKmsAlias,         // a KMS alias, by "alias/<name>"
  kDeliveryStream,   // the Firehose side of a consumer (source type, tags), by its name
};
// "dataset", "consumer", "transformation", "change stream", "change stream state", "bucket",
// "bucket lifecycle", "account", "user", "role", "policy", "bucket policy", "stream policy",
// "stream consumer", "stream settings",
// "kinesis account", "kms key", "kms alias", "delivery stream"
const char* DocKindName(DocKind kind);

struct DocRow {
  std::string name;
  std::string spec;  // JSON
  int64_t version = 1;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// Where a consumer is in one shard: the next counter to deliver, and the delivery that
// was under way (JSON, empty if none) when it last stopped.
struct CheckpointRow {
  std::string consumer;
  uint64_t stream_id = 0;
  uint32_t shard_index = 0;
  uint64_t next_counter = 0;
  std::string pending;
};

struct KeyRow {
  std::string access_key_id;
  std::string secret;
  std::string scope;                 // admin, producer, consumer
  std::vector<std::string> streams;  // for producer/consumer: the streams it may use
  int64_t created_ms = 0;
  std::optional<int64_t> revoked_ms;
  std::string description;
};

class Catalog {
 public:
  // Opens (creating) the catalog at `path`. Access key secrets are stored sealed
  // (crypto::Seal, AES-256-GCM bound to the key id) under the 32-byte key in
  // <dir of path>/secret.key, created 0600 on first open; secrets an older version stored
  // in plain text are sealed here. A copy of catalog.db alone gives no secret away.
  static Result<std::unique_ptr<Catalog>> Open(const std::string& path);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // Streams (deleted streams are removed from the table).
  Result<std::vector<StreamRow>> ListStreams();
  Result<uint64_t> NextStreamId();
  // Inserts the stream and its shards in one transaction.
  Status CreateStream(const StreamRow& s, const std::vector<ShardRow>& shards);
  Status UpdateStream(const StreamRow& s);
  // Updates the stream and upserts the given shards, in one transaction.
  Status UpdateStreamAndShards(const StreamRow& s, const std::vector<ShardRow>& shards);
  Status DeleteStream(uint64_t stream_id);

  Result<std::vector<ShardRow>> ListShards(uint64_t stream_id);
  Status RaiseCounterFloor(uint64_t stream_id, uint32_t shard_index, uint64_t floor);

  Result<std::vector<TagRow>> ListTags(uint64_t stream_id);
  Status PutTags(uint64_t stream_id, const std::vector<TagRow>& tags);
  Status RemoveTags(uint64_t stream_id, const std::vector<std::string>& keys);

  // Configuration documents. Create fails with AlreadyExists, Update and Delete with
  // NotFound (messages name the kind and the name).
  Status CreateDoc(DocKind kind, const DocRow& row);
  Status UpdateDoc(DocKind kind, const std::string& name, const std::string& spec, int64_t now_ms,
                   int64_t* new_version);
  // Creates the document, or replaces its spec (its version + 1): one statement.
  Status PutDoc(DocKind kind, const std::string& name, const std::string& spec, int64_t now_ms);
  Status DeleteDoc(DocKind kind, const std::string& name);
  Result<std::optional<DocRow>> GetDoc(DocKind kind, const std::string& name);
  Result<std::vector<DocRow>> ListDocs(DocKind kind);

  // Consumer checkpoints.
  Result<std::vector<CheckpointRow>> ListCheckpoints(const std::string& consumer);
  Status PutCheckpoint(const CheckpointRow& row);
  // Several rows in one transaction: all of them or none.
  Status PutCheckpoints(const std::vector<CheckpointRow>& rows);
  Status DeleteCheckpoints(const std::string& consumer);

  // Access keys.
  Status CreateKey(const KeyRow& key);
  Result<std::vector<KeyRow>> ListKeys();
  Result<std::optional<KeyRow>> FindKey(const std::string& access_key_id);
  Status RevokeKey(const std::string& access_key_id, int64_t now_ms);  // NotFound if unknown
  // Seals a secret under this catalog's key file (crypto::Seal), for secrets kept outside
  // the keys table (STS session tokens); Unseal fails on a value sealed elsewhere.
  std::string SealSecret(std::string_view plaintext, std::string_view aad) const;
  bool UnsealSecret(std::string_view sealed, std::string_view aad, std::string* plaintext) const;

  // Changes whenever any connection (this process or another) commits a change; cheap.
  Result<int64_t> DataVersion();

 private:
  explicit Catalog(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  Status Migrate();
  Status SealPlainSecrets();
  Status UpsertShardLocked(const ShardRow& r);
  Status PutCheckpointLocked(const CheckpointRow& r);
  Status UpdateStreamLocked(const StreamRow& s);

  std::mutex mu_;
  sqlite3* db_ GUARDED_BY(mu_);
  std::string secret_key_;  // 32 bytes, from secret.key; set once in Open
};

}  // namespace millrace::catalog
