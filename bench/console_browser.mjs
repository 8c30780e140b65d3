// bench/console_browser.mjs: the browser half of bench/console.py (headless Chromium,
// playwright-core). Usage: node console_browser.mjs ENDPOINT KEY SECRET ROUNDS
// 1. First page usable: ROUNDS fresh tabs (signed in through sessionStorage, so the
//    sign-in form is not timed) open #/streams and #/consumers; the time from navigation
//    to the first page of rows and the pager drawn.
// 2. Live tail: tails stream `tail`, prints {"event": "tailing"}, waits for a line on
//    stdin (the producer has started), then records every frame's interval with
//    requestAnimationFrame for 10 s and the longest tasks (PerformanceObserver).
// Prints one JSON line of results.
import { createInterface } from 'node:readline';
import { load } from '../tests/parquet/npm_deps.mjs';

const [endpoint, keyId, secret, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg || 5);
const { chromium } = await load('playwright-core');
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless=new'],
});
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))];
const out = { first_page_ms: {} };
try {
  // One sign-in, whose session the timed tabs reuse.
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 860 } });
  const first = await ctx.newPage();
  await first.goto(endpoint + '/console/');
  await first.getByLabel('Access key ID').fill(keyId);
  await first.getByLabel('Secret access key').fill(secret);
  await first.getByRole('button', { name: 'Sign in' }).click();
  await first.getByRole('heading', { name: 'Streams' }).waitFor();
  const session = await first.evaluate(() => sessionStorage.getItem('millrace-console-session'));
  await first.close();
  await ctx.addInitScript((s) => sessionStorage.setItem('millrace-console-session', s), session);

  for (const [name, hash] of [['streams', '#/streams'], ['consumers', '#/consumers']]) {
    const times = [];
    for (let i = 0; i < rounds; i++) {
      const page = await ctx.newPage();
      const t0 = Date.now();
      await page.goto(`${endpoint}/console/${hash}`);
      await page.locator('tbody tr').nth(49).waitFor({ timeout: 60000 });
      await page.locator('.pager').waitFor();
      times.push(Date.now() - t0);
      out[`${name}_pager`] = await page.locator('.pager span').textContent();
      await page.close();
    }
    out.first_page_ms[name] = { median: median(times), all: times };
  }

  const page = await ctx.newPage();
  await page.goto(`${endpoint}/console/#/streams/tail/records`);
  await page.getByRole('button', { name: 'Live tail' }).click();
  await page.getByText('Tailing:').waitFor();
  console.log(JSON.stringify({ event: 'tailing' }));
  await input.next();
  const frames = await page.evaluate(() => new Promise((done) => {
    const intervals = [];
    const longTasks = [];
    const obs = new PerformanceObserver((l) => l.getEntries().forEach((e) => longTasks.push(e.duration)));
    try { obs.observe({ type: 'longtask', buffered: false }); } catch { /* not supported */ }
    let last = performance.now();
    const end = last + 10000;
    const tick = (t) => {
      intervals.push(t - last);
      last = t;
      if (t < end) requestAnimationFrame(tick);
      else { obs.disconnect(); done({ intervals, longTasks }); }
    };
    requestAnimationFrame(tick);
  }));
  out.tail = {
    frames: frames.intervals.length,
    frame_ms_p50: median(frames.intervals), frame_ms_p95: pct(frames.intervals, 0.95),
    frame_ms_p99: pct(frames.intervals, 0.99), frame_ms_max: Math.max(...frames.intervals),
    long_tasks: frames.longTasks.length, long_task_ms_max: frames.longTasks.length ? Math.max(...frames.longTasks) : 0,
    stats: await page.locator('p.stats').textContent(),
    rows: await page.locator('tr.record').count(),
  };
} catch (e) {
  out.failure = String(e && e.stack || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify({ event: 'done', ...out }));
process.exit(0);
