// SubscribeToShard from the AWS SDK for JavaScript v3 with its default (HTTP/2) handler:
// subscribes CONSUMER_ARN to shardId-000000000000 from LATEST, then puts COUNT records
// (one at a time, over the same HTTP/2 connection) and times each from the PutRecord call to
// its event. Usage: node kinesis_efo_sdk_v3.mjs ENDPOINT KEY_ID SECRET STREAM CONSUMER_ARN COUNT
// Prints one JSON line: {"received": [utf-8 data], "latency_ms": [...], "continuation": "..."}.
import { load } from '../parquet/npm_deps.mjs';

const [endpoint, accessKeyId, secretAccessKey, stream, consumerARN, countArg] = process.argv.slice(2);
const count = Number(countArg || 5);
const k = await load('@aws-sdk/client-kinesis');
const client = new k.KinesisClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey } });

const sub = await client.send(new k.SubscribeToShardCommand({
  ConsumerARN: consumerARN, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'LATEST' },
}));
const sentAt = new Map();
const received = [];
const latency = [];
let continuation = null;
const reader = (async () => {
  for await (const ev of sub.EventStream) {
    if (!ev.SubscribeToShardEvent) throw new Error('unexpected event ' + JSON.stringify(ev));
    const now = performance.now();
    continuation = ev.SubscribeToShardEvent.ContinuationSequenceNumber;
    for (const r of ev.SubscribeToShardEvent.Records) {
      const text = new TextDecoder().decode(r.Data);
      received.push(text);
      if (sentAt.has(text)) latency.push(now - sentAt.get(text));
    }
    if (received.length >= count) return;
  }
})();
await new Promise((r) => setTimeout(r, 300));  // the subscription is in place
for (let i = 0; i < count; i++) {
  const data = `efo-${i}`;
  sentAt.set(data, performance.now());
  await client.send(new k.PutRecordCommand({ StreamName: stream, PartitionKey: 'p', Data: new TextEncoder().encode(data) }));
  await new Promise((r) => setTimeout(r, 20));
}
await Promise.race([reader, new Promise((_, rej) => setTimeout(() => rej(new Error('timed out: ' + JSON.stringify(received))), 20000))]);
client.destroy();
console.log(JSON.stringify({ received, latency_ms: latency, continuation }));
process.exit(0);
