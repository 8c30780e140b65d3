// The AWS SDK for JavaScript v3 (@aws-sdk/client-kinesis) against Millrace with its default
// settings but for the endpoint: its default request handler speaks HTTP/2 (cleartext with
// prior knowledge to an http:// endpoint, ALPN over https://).
// Usage: node kinesis_sdk_v3.mjs ENDPOINT KEY_ID SECRET STREAM
// Environment: NODE_EXTRA_CA_CERTS names the test CA for an https:// endpoint.
// Creates STREAM (one shard), puts records with PutRecord and PutRecords, reads them back
// and prints one JSON line: {"put": [sequence numbers], "read": [utf-8 data], "streams":
// [names], "error": {"name", "message", "status"} of a call on a missing stream}.
import { load } from '../parquet/npm_deps.mjs';

const [endpoint, accessKeyId, secretAccessKey, stream] = process.argv.slice(2);
const k = await load('@aws-sdk/client-kinesis');
const client = new k.KinesisClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey } });

await client.send(new k.CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
await k.waitUntilStreamExists({ client, maxWaitTime: 30, minDelay: 1 }, { StreamName: stream });
const put = [];
const one = await client.send(new k.PutRecordCommand({
  StreamName: stream, PartitionKey: 'p', Data: new TextEncoder().encode('first'),
}));
put.push(one.SequenceNumber);
// Concurrent calls share the one HTTP/2 connection as streams.
const many = await Promise.all([0, 1, 2, 3, 4].map((i) => client.send(new k.PutRecordsCommand({
  StreamName: stream,
  Records: [{ PartitionKey: `k${i}`, Data: new TextEncoder().encode(`batch-${i}`) }],
}))));
for (const r of many) {
  if (r.FailedRecordCount !== 0) throw new Error('PutRecords failed: ' + JSON.stringify(r));
  put.push(r.Records[0].SequenceNumber);
}
const shards = await client.send(new k.ListShardsCommand({ StreamName: stream }));
const it = await client.send(new k.GetShardIteratorCommand({
  StreamName: stream, ShardId: shards.Shards[0].ShardId, ShardIteratorType: 'TRIM_HORIZON',
}));
const got = await client.send(new k.GetRecordsCommand({ ShardIterator: it.ShardIterator }));
const read = got.Records.map((r) => new TextDecoder().decode(r.Data));
const listed = await client.send(new k.ListStreamsCommand({}));
let error = null;
try {
  await client.send(new k.DescribeStreamSummaryCommand({ StreamName: 'no-such-stream' }));
} catch (e) {
  error = { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
}
client.destroy();
console.log(JSON.stringify({ put, read, streams: listed.StreamNames, error }));
