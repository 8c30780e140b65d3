// PutRecord from a web page: the browser build of the AWS SDK for JavaScript v3
// (@aws-sdk/client-kinesis, bundled by esbuild for the browser, so it signs with the Web
// Crypto API and sends with fetch) in headless Chromium (Debian's, driven by
// playwright-core). The page is served from another origin (a port of its own), so every
// call is a cross-origin request with its CORS preflight, as from a real site.
// Usage: node kinesis_browser.mjs ENDPOINT KEY_ID SECRET STREAM
// Prints one JSON line: {"origin", "put": {ShardId, SequenceNumber}, "error": {name} of a
// PutRecord to a missing stream}.
import { createServer } from 'node:http';
import { depsDir, load } from '../parquet/npm_deps.mjs';

const [endpoint, accessKeyId, secretAccessKey, stream] = process.argv.slice(2);
const esbuild = await load('esbuild');
const { chromium } = await load('playwright-core');

const bundle = await esbuild.build({
  stdin: {
    contents: "export { KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';",
    resolveDir: depsDir,
  },
  bundle: true, format: 'iife', globalName: 'AwsKinesis', platform: 'browser', write: false,
  logLevel: 'error',
});
const script = bundle.outputFiles[0].text;
const page = `<!doctype html><html><head><meta charset="utf-8"><title>producer</title></head>
<body><script>${script.replace(/<\/script/g, '<\\/script')}</script></body></html>`;

const site = createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(page);
});
await new Promise((ok) => site.listen(0, '127.0.0.1', ok));
const origin = `http://127.0.0.1:${site.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless=new'],
});
try {
  const tab = await browser.newPage();
  await tab.goto(origin + '/');
  const out = await tab.evaluate(async ({ endpoint, accessKeyId, secretAccessKey, stream }) => {
    const client = new AwsKinesis.KinesisClient({
      endpoint, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey },
    });
    const put = await client.send(new AwsKinesis.PutRecordCommand({
      StreamName: stream, PartitionKey: 'browser', Data: new TextEncoder().encode('from a page'),
    }));
    let error = null;
    try {
      await client.send(new AwsKinesis.PutRecordCommand({
        StreamName: stream + '-missing', PartitionKey: 'p', Data: new Uint8Array([1]),
      }));
    } catch (e) {
      error = { name: e.name, status: e.$metadata && e.$metadata.httpStatusCode };
    }
    return { put: { ShardId: put.ShardId, SequenceNumber: put.SequenceNumber }, error };
  }, { endpoint, accessKeyId, secretAccessKey, stream });
  console.log(JSON.stringify({ origin, ...out }));
} finally {
  await browser.close();
  site.close();
}
