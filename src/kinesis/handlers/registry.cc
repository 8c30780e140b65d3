// The table of actions the service answers.
#include "kinesis/action.h"

namespace millrace::kinesis {

extern const Action kAddTagsToStream, kCreateStream, kDecreaseStreamRetentionPeriod, kDeleteStream,
    kDeleteResourcePolicy, kDescribeLimits, kDescribeStream, kGetResourcePolicy, kPutResourcePolicy,
    kDescribeStreamSummary, kGetRecords, kGetShardIterator, kIncreaseStreamRetentionPeriod,
    kListShards, kListStreams, kListTagsForResource, kListTagsForStream, kMergeShards, kPutRecord,
    kPutRecords, kRemoveTagsFromStream, kSplitShard, kTagResource, kUntagResource,
    kUpdateShardCount, kUpdateStreamMode, kRegisterStreamConsumer, kDescribeStreamConsumer,
    kDeregisterStreamConsumer, kListStreamConsumers, kSubscribeToShard, kEnableEnhancedMonitoring,
    kDisableEnhancedMonitoring, kUpdateMaxRecordSize, kUpdateStreamWarmThroughput,
    kDescribeAccountSettings, kUpdateAccountSettings, kStartStreamEncryption, kStopStreamEncryption;

const std::vector<const Action*>& AllActions() {
  static const std::vector<const Action*> all = {
      &kAddTagsToStream,
      &kCreateStream,
      &kDecreaseStreamRetentionPeriod,
      &kDeleteStream,
      &kDeleteResourcePolicy,
      &kGetResourcePolicy,
      &kPutResourcePolicy,
      &kDescribeLimits,
      &kDescribeStream,
      &kDescribeStreamSummary,
      &kGetRecords,
      &kGetShardIterator,
      &kIncreaseStreamRetentionPeriod,
      &kListShards,
      &kListStreams,
      &kListTagsForResource,
      &kListTagsForStream,
      &kMergeShards,
      &kPutRecord,
      &kPutRecords,
      &kRemoveTagsFromStream,
      &kSplitShard,
      &kTagResource,
      &kUntagResource,
      &kUpdateShardCount,
      &kUpdateStreamMode,
      &kRegisterStreamConsumer,
      &kDescribeStreamConsumer,
      &kDeregisterStreamConsumer,
      &kListStreamConsumers,
      &kSubscribeToShard,
      &kEnableEnhancedMonitoring,
      &kDisableEnhancedMonitoring,
      &kUpdateMaxRecordSize,
      &kUpdateStreamWarmThroughput,
      &kDescribeAccountSettings,
      &kUpdateAccountSettings,
      &kStartStreamEncryption,
      &kStopStreamEncryption,
  };
  return all;
}

}  // namespace millrace::kinesis
