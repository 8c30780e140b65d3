// The AWS SDK for JavaScript v3 (@aws-sdk/client-s3) against Millrace, with the SDK's
// default settings but for the endpoint and path-style addressing: uploads go with its
// default CRC32 checksum in an aws-chunked trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
// Usage: node s3_sdk_v3.mjs ENDPOINT KEY_ID SECRET BUCKET KEY
// Prints one JSON line: {"downloaded": hex of BUCKET/KEY, "listed": [keys of BUCKET],
// "uploaded": {name: sha256 hex}} (the uploads are in bucket sdk-bucket).
import { createHash, randomBytes } from 'node:crypto';
import { load } from '../parquet/npm_deps.mjs';

const [endpoint, accessKeyId, secretAccessKey, bucket, key] = process.argv.slice(2);
const s3mod = await load('@aws-sdk/client-s3');
const {
  S3Client, GetObjectCommand, ListObjectsV2Command, CreateBucketCommand, PutObjectCommand,
  HeadObjectCommand, DeleteObjectCommand, CreateMultipartUploadCommand, UploadPartCommand,
  CompleteMultipartUploadCommand,
} = s3mod;
const s3 = new S3Client({
  endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey },
});

const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
const downloaded = Buffer.from(await got.Body.transformToByteArray()).toString('hex');
const listed = [];
let token;
do {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token, MaxKeys: 2 }));
  for (const o of page.Contents ?? []) listed.push(o.Key);
  token = page.IsTruncated ? page.NextContinuationToken : undefined;
} while (token);

await s3.send(new CreateBucketCommand({ Bucket: 'sdk-bucket' }));
const uploaded = {};
const sha = (b) => createHash('sha256').update(b).digest('hex');
for (const [name, size] of [['small.txt', 11], ['medium.bin', 300 * 1024]]) {
  const body = randomBytes(size);
  const put = await s3.send(new PutObjectCommand({ Bucket: 'sdk-bucket', Key: name, Body: body }));
  if (!put.ETag) throw new Error('no ETag for ' + name);
  uploaded[name] = sha(body);
}
// A stream of unknown length goes aws-chunked.
const { Readable } = await import('node:stream');
const streamed = randomBytes(200 * 1024);
await s3.send(new PutObjectCommand({
  Bucket: 'sdk-bucket', Key: 'streamed.bin', Body: Readable.from([streamed.subarray(0, 70000), streamed.subarray(70000)]),
  ContentLength: streamed.length,
}));
uploaded['streamed.bin'] = sha(streamed);
// Multipart, with the SDK's checksums on the parts.
const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1234)];
const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'sdk-bucket', Key: 'multi.bin' }));
const done = [];
for (let i = 0; i < parts.length; i++) {
  const r = await s3.send(new UploadPartCommand({ Bucket: 'sdk-bucket', Key: 'multi.bin', UploadId, PartNumber: i + 1, Body: parts[i] }));
  done.push({ PartNumber: i + 1, ETag: r.ETag });
}
await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'sdk-bucket', Key: 'multi.bin', UploadId, MultipartUpload: { Parts: done } }));
uploaded['multi.bin'] = sha(Buffer.concat(parts));
await s3.send(new PutObjectCommand({ Bucket: 'sdk-bucket', Key: 'gone', Body: 'x' }));
await s3.send(new DeleteObjectCommand({ Bucket: 'sdk-bucket', Key: 'gone' }));
try {
  await s3.send(new HeadObjectCommand({ Bucket: 'sdk-bucket', Key: 'gone' }));
  throw new Error('a deleted object is still there');
} catch (e) {
  if (e.$metadata?.httpStatusCode !== 404) throw e;
}
console.log(JSON.stringify({ downloaded, listed, uploaded }));
