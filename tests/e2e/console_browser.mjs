// The web console in headless Chromium (Debian's, driven by playwright-core), as a user
// clicks through it (tests/e2e/test_console.py runs this and checks the server's side).
// Usage: node console_browser.mjs ENDPOINT SCENARIO KEY_ID SECRET SHOTS_DIR
//   SCENARIO admin:    sign in; create a stream with '+'; see records put with boto3 in the
//                      live tail; filter them by content (jq) and partition key; upload a
//                      transformation and test it; create a dataset and a consumer in the
//                      forms; pause and resume it; see its files and preview a Parquet file;
//                      see a change stream streaming, pause and resume it.
//   SCENARIO readonly: sign in with a read-only key: every edit control disabled, the
//                      Access page's share, and a forced click refused by the server with
//                      its message in the page.
// Talks to the test on stdout/stdin: prints {"event": "need", "what": ...} and waits for a
// line back (the test puts records with boto3); last, prints {"event": "done", ...}.
// Screenshots of each page go to SHOTS_DIR (docs/console/ when run by the test suite).
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from '../parquet/npm_deps.mjs';

const [endpoint, scenario, keyId, secret, shots] = process.argv.slice(2);
const { chromium } = await load('playwright-core');
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (event, data = {}) => console.log(JSON.stringify({ event, ...data }));
async function need(what, data = {}) {
  say('need', { what, ...data });
  const { value } = await input.next();
  return JSON.parse(value);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless=new'],
});
const errors = [];
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
  page.setDefaultTimeout(30000);
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && !/status of (4\d\d)/.test(m.text()) && errors.push(m.text()));
  const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`) });

  await page.goto(endpoint + '/console/');
  await page.getByLabel('Access key ID').waitFor();
  if (scenario === 'admin') await shot('sign-in');
  await page.getByLabel('Access key ID').fill(keyId);
  await page.getByLabel('Secret access key').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Streams' }).waitFor();
  out.session = await page.evaluate(() => JSON.parse(sessionStorage.getItem('millrace-console-session')));
  out.storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));

  try {
    if (scenario === 'admin') await admin(page, shot);
    else await readonly(page, shot);
  } catch (e) {
    // What the page showed when it failed: its errors' text and a screenshot.
    out.page_errors = await page.locator('.error').allTextContents().catch(() => []);
    out.failure_shot = join(tmpdir(), `millrace-console-${scenario}-failure.png`);
    await page.screenshot({ path: out.failure_shot }).catch(() => {});
    throw e;
  }
} catch (e) {
  out.failure = String(e && e.stack || e);
} finally {
  await browser.close();
}
say('done', { ...out, errors });
process.exit(0); // stdin stays open: the test may still hold it

async function admin(page, shot) {
  // A stream with '+'.
  await page.getByRole('button', { name: 'Create stream' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create stream' });
  await dialog.getByLabel('Name').fill('orders');
  await dialog.getByLabel('Shards').fill('2');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('link', { name: 'orders', exact: true }).waitFor();
  await need('stream-rates', { stream: 'orders' }); // records put for 8 s, sampled by the page
  await shot('streams');

  // Its details, connection details and the live tail.
  await page.getByRole('link', { name: 'orders', exact: true }).click();
  await page.getByText('arn:aws:kinesis:us-east-1:000000000000:stream/orders').first().waitFor();
  out.snippet = await page.locator('pre.code').first().textContent();
  await shot('stream');
  await page.getByRole('link', { name: 'Browse records' }).click();
  await page.getByRole('button', { name: 'Live tail' }).click();
  await page.getByText('Tailing:').waitFor();
  const put = await need('records', { stream: 'orders', count: 40 });
  await page.locator('.matched', { hasText: String(put.count) }).waitFor();
  out.tail_rows = await page.locator('tr.record').count();
  out.tail_keys = await page.locator('tr.record td:nth-child(4)').allTextContents();
  await page.locator('tr.record').first().click();
  out.expanded = await page.locator('tr.detail pre').textContent();
  await shot('records');
  await page.getByRole('button', { name: 'Stop tail' }).click();

  // Filtered reads from the trim horizon: by content (jq, run by the server) and by key.
  // One read from the trim horizon; waits until it has finished.
  const read = async () => {
    const reads = Number(await page.locator('p.stats').getAttribute('data-reads'));
    await page.getByRole('button', { name: 'Read', exact: true }).click();
    await page.locator(`p.stats[data-reads="${reads + 1}"]`).waitFor();
    (out.received = out.received || []).push(Number(await page.locator('.received').textContent()));
  };
  await page.getByLabel('Content (jq)').fill('.n == 7');
  await read();
  out.jq_rows = await page.locator('tr.record td:nth-child(5)').allTextContents();
  await page.getByLabel('Content (jq)').fill('');
  await page.getByLabel('Partition key contains').fill('customer-1');
  await read();
  out.key_rows = await page.locator('tr.record td:nth-child(4)').allTextContents();
  await page.getByLabel('Partition key contains').fill('');
  await page.getByLabel('Content (jq)').fill('.n ==');
  await read();
  out.bad_filter = await page.locator('.error').first().textContent();

  // A transformation, uploaded in the form, and tested on sample records.
  await page.getByRole('link', { name: 'Transformations' }).click();
  await page.getByRole('button', { name: 'Create transformation' }).click();
  const tf = page.getByRole('dialog', { name: 'Upload transformation' });
  await tf.getByLabel('Name').fill('enrich');
  await tf.getByLabel('Handler').fill('main.handler');
  await tf.getByLabel(/^Code/).setInputFiles({ name: 'main.py', mimeType: 'text/x-python', buffer: Buffer.from(
    'import base64, json\n\n' +
    'def handler(event, context):\n' +
    '    out = []\n' +
    '    for r in event["records"]:\n' +
    '        doc = json.loads(base64.b64decode(r["data"]))\n' +
    '        if doc.get("drop"):\n' +
    '            out.append({"recordId": r["recordId"], "result": "Dropped", "data": r["data"]})\n' +
    '            continue\n' +
    '        doc["enriched"] = True\n' +
    '        print("enriched", doc.get("n"))\n' +
    '        out.append({"recordId": r["recordId"], "result": "Ok",\n' +
    '                    "data": base64.b64encode(json.dumps(doc).encode()).decode()})\n' +
    '    return {"records": out}\n') });
  await tf.getByRole('button', { name: 'Create' }).click();
  await tf.waitFor({ state: 'detached' });
  await page.getByRole('link', { name: 'enrich' }).click();
  await page.getByLabel('Sample records, one per line').fill('{"n": 1}\n{"n": 2, "drop": true}');
  await page.getByRole('button', { name: 'Run on these records' }).click();
  await page.locator('table.test-results tbody tr').nth(1).waitFor();
  out.test_results = await page.locator('table.test-results tbody tr').allInnerTexts();
  await page.locator('pre.logs', { hasText: 'enriched 1' }).waitFor();
  await shot('transformation');

  // A Parquet dataset and a consumer through the forms.
  await page.getByRole('link', { name: 'Datasets' }).click();
  await page.getByRole('button', { name: 'Create dataset' }).click();
  const ds = page.getByRole('dialog', { name: 'Create dataset' });
  await ds.getByLabel('Name').fill('orders-lake');
  await ds.getByLabel('File type').selectOption('parquet');
  await ds.getByRole('button', { name: 'Create' }).click();
  await ds.waitFor({ state: 'detached' });
  await page.getByRole('link', { name: 'Consumers' }).click();
  await page.getByRole('button', { name: 'Create consumer' }).click();
  const cf = page.getByRole('dialog', { name: 'Create consumer' });
  await cf.getByLabel('Name').fill('orders-to-lake');
  await cf.getByLabel('Stream').selectOption('orders');
  await cf.getByLabel('Dataset').selectOption('orders-lake');
  await cf.getByLabel(/^Buffer interval/).fill('0');
  await cf.getByLabel('Transformation').selectOption('enrich');
  await cf.getByRole('button', { name: 'Create' }).click();
  await cf.waitFor({ state: 'detached' });
  await page.getByRole('link', { name: 'orders-to-lake' }).click();
  await page.locator('.badge', { hasText: 'RUNNING' }).waitFor();
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.locator('.badge', { hasText: 'PAUSED' }).waitFor();
  out.paused = true;
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator('.badge', { hasText: 'RUNNING' }).waitFor();
  await page.waitForTimeout(11000); // two lag samples: the chart draws
  await shot('consumer');

  // Its files: down the time folders to a file, and its preview.
  await page.goto(endpoint + '/console/#/datasets/orders-lake');
  let file = null;
  out.nav = [];
  for (let i = 0; i < 60 && !file; i++) {
    out.nav.push(await page.evaluate(() => location.hash + ' ' + document.querySelector('.crumbs')?.textContent + ' ' +
      [...document.querySelectorAll('ul.folders a')].map((a) => a.getAttribute('href')).join(',')));
    const folder = page.locator('ul.folders a:not(.failed)').first();
    if (await page.getByRole('button', { name: 'Preview' }).count()) {
      file = page.getByRole('button', { name: 'Preview' }).first();
    } else if (await folder.count()) {
      await folder.click();
      await page.waitForTimeout(300);
    } else {
      await page.waitForTimeout(1000);
      await page.reload();
    }
  }
  await shot('dataset');
  await file.click();
  await page.locator('table.preview tbody tr').first().waitFor();
  out.preview_head = await page.locator('table.preview thead th').allTextContents();
  out.preview_rows = await page.locator('table.preview tbody tr').count();
  out.preview_note = await page.locator('.dialog p.small').first().textContent();
  await shot('preview');
  await page.getByRole('button', { name: 'Close' }).click();

  // The change stream the test made from PostgreSQL: streaming, snapshot done; paused and
  // resumed from the page.
  await page.getByRole('link', { name: 'Change streams' }).click();
  const cdc = page.locator('tr', { hasText: 'shop-cdc' });
  await cdc.locator('.badge', { hasText: 'STREAMING' }).waitFor();
  out.change_stream = await cdc.innerText();
  out.snapshot_bar = await cdc.locator('progress').getAttribute('value');
  await shot('change-streams');
  await cdc.getByRole('button', { name: 'Pause' }).click();
  await cdc.locator('.badge', { hasText: 'PAUSED' }).waitFor();
  await cdc.getByRole('button', { name: 'Resume' }).click();
  await cdc.locator('.badge', { hasText: 'STREAMING' }).waitFor();
}

async function readonly(page, shot) {
  out.disabled = {};
  const plus = page.getByRole('button', { name: 'Create stream' });
  await page.getByRole('link', { name: 'orders', exact: true }).waitFor();
  await page.waitForTimeout(500); // the permission check answers
  out.disabled.create_stream = await plus.isDisabled();
  await page.getByRole('link', { name: 'orders', exact: true }).click();
  await page.getByRole('heading', { name: /orders/ }).waitFor();
  await page.waitForTimeout(500);
  for (const b of ['Edit', 'Tags', 'Delete'])
    out.disabled[`stream_${b}`] = await page.getByRole('button', { name: b, exact: true }).isDisabled();
  await shot('read-only');
  // Records can be read (kinesis:Get*), but not filtered by a jq expression on the server.
  await page.getByRole('link', { name: 'Browse records' }).click();
  await page.getByRole('button', { name: 'Read', exact: true }).click();
  await page.locator('tr.record').first().waitFor();
  out.readonly_rows = await page.locator('tr.record').count();
  out.disabled.content_filter = await page.getByLabel('Content (jq)').isDisabled();
  await page.getByRole('link', { name: 'Consumers' }).click();
  await page.getByRole('link', { name: 'orders-to-lake' }).click();
  await page.locator('.badge').first().waitFor();
  await page.waitForTimeout(500);
  for (const b of ['Pause', 'Edit', 'Delete'])
    out.disabled[`consumer_${b}`] = await page.getByRole('button', { name: b, exact: true }).isDisabled();
  await page.getByRole('link', { name: 'Transformations' }).click();
  await page.getByRole('link', { name: 'enrich' }).click();
  await page.getByRole('button', { name: 'Run on these records' }).waitFor();
  await page.waitForTimeout(500);
  out.disabled.test_transformation = await page.getByRole('button', { name: 'Run on these records' }).isDisabled();
  out.disabled.delete_transformation = await page.getByRole('button', { name: 'Delete' }).isDisabled();
  await page.getByRole('link', { name: 'Datasets' }).click();
  await page.getByRole('link', { name: 'orders-lake' }).waitFor();
  await page.waitForTimeout(500);
  out.disabled.create_dataset = await page.getByRole('button', { name: 'Create dataset' }).isDisabled();

  // Access: the share made with `millrace share`, read with IAM's API.
  await page.getByRole('link', { name: 'Access' }).click();
  const share = page.locator('table.access tr', { hasText: 'share-acme' });
  await share.waitFor();
  out.share = await share.innerText();
  await shot('access');

  // Forced: the button enabled by hand, the request goes out and the server refuses it.
  await page.getByRole('link', { name: 'Streams', exact: true }).click();
  await page.getByRole('link', { name: 'orders', exact: true }).waitFor();
  await page.evaluate(() => document.querySelector('button[aria-label="Create stream"]').removeAttribute('disabled'));
  await page.getByRole('button', { name: 'Create stream' }).click({ force: true });
  const dialog = page.getByRole('dialog', { name: 'Create stream' });
  await dialog.getByLabel('Name').fill('not-allowed');
  await dialog.getByRole('button', { name: 'Create' }).click();
  out.forced_error = await dialog.locator('.error').textContent();
}
