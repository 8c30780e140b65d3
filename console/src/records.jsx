// The record browser and live tail of a stream: records from a position (trim horizon,
// latest, a time, a sequence number) with GetShardIterator/GetRecords, decoded (JSON
// pretty-printed, text, hex), filtered by partition key and by content with the consumers'
// filter language (jq, run by the server: POST /api/v1/filters/test), and a live tail that
// polls every open shard and renders one batch per poll, the newest 200 rows, so a
// thousand records a second do not freeze the page.
import { useEffect, useRef, useState } from 'preact/hooks';
import { arn, control, kinesis } from './api.js';
import { ErrorBox, fmtTime, useCan } from './ui.jsx';

const SHOWN = 200;
const POLL_MS = 250; // under Kinesis's 5 GetRecords per second per shard

function decode(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  let text = null;
  let json;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { bytes, text, json, kind: json !== undefined ? 'json' : text !== null ? 'text' : 'binary' };
}

function hex(bytes, max = 4096) {
  const out = [];
  for (let i = 0; i < Math.min(bytes.length, max); i += 16) {
    const row = Array.from(bytes.subarray(i, i + 16));
    out.push(`${i.toString(16).padStart(8, '0')}  ${row.map((b) => b.toString(16).padStart(2, '0')).join(' ').padEnd(48)}  ${
      row.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('')}`);
  }
  if (bytes.length > max) out.push(`… ${bytes.length - max} more bytes`);
  return out.join('\n');
}

function Row({ r }) {
  const [open, setOpen] = useState(false);
  const [view, setView] = useState(null);
  const d = r.decoded;
  const mode = view || (d.kind === 'binary' ? 'hex' : d.kind);
  const preview = d.kind === 'binary' ? `(${d.bytes.length} bytes)` : d.text.slice(0, 200);
  return (
    <>
      <tr class="record" onClick={() => setOpen(!open)}>
        <td class="mono small">{r.shard.replace('shardId-', '')}</td>
        <td class="mono small seq">{r.SequenceNumber}</td>
        <td>{fmtTime(r.ApproximateArrivalTimestamp * 1000)}</td>
        <td class="mono">{r.PartitionKey}</td>
        <td class="mono small preview">{preview}</td>
      </tr>
      {open && (
        <tr class="detail"><td colSpan={5}>
          <div class="views">
            {['json', 'text', 'hex'].map((m) => (
              <button class={mode === m ? 'on' : ''} disabled={(m === 'json' && d.kind !== 'json') || (m === 'text' && d.text === null)}
                      onClick={() => setView(m)}>{m.toUpperCase()}</button>))}
            <span class="small">sequence number {r.SequenceNumber}, {d.bytes.length} bytes</span>
          </div>
          <pre class="code">{mode === 'json' ? JSON.stringify(d.json, null, 2) : mode === 'text' ? d.text : hex(d.bytes)}</pre>
        </td></tr>
      )}
    </>
  );
}

export function RecordBrowser({ name }) {
  const [shards, setShards] = useState(null);
  const [error, setError] = useState(null);
  const [position, setPosition] = useState('TRIM_HORIZON');
  const [at, setAt] = useState('');
  const [shard, setShard] = useState('*');
  const [keyFilter, setKeyFilter] = useState('');
  const [contentFilter, setContentFilter] = useState('');
  const [rows, setRows] = useState([]);
  const [stats, setStats] = useState({ received: 0, matched: 0, rate: 0 });
  const [tailing, setTailing] = useState(false); // false, 'starting' (taking iterators) or true
  const [reading, setReading] = useState(false);
  const [reads, setReads] = useState(0); // reads finished (the tests wait on it)
  const can = useCan([['millrace:TestFilter', arn('millrace', 'filter', '*')]]);
  const run = useRef(0); // bumped to stop a running read
  const iterators = useRef({});

  useEffect(() => {
    kinesis('ListShards', { StreamName: name }).then((r) => setShards(r.Shards), setError);
    return () => { run.current++; };
  }, [name]);

  const openShards = () => (shards || []).filter((s) => !s.SequenceNumberRange.EndingSequenceNumber);
  const chosen = (all) => (shard === '*' ? all : all.filter((s) => s.ShardId === shard));

  // Keeps the records of a batch that pass both filters; decodes the newest `limit` of
  // them (the rest are counted, never shown).
  async function filterBatch(records, limit = Infinity) {
    let out = keyFilter ? records.filter((r) => r.PartitionKey.includes(keyFilter)) : records;
    if (contentFilter.trim() && out.length) {
      const kept = [];
      for (let i = 0; i < out.length; i += 1000) {
        const part = out.slice(i, i + 1000);
        const res = await control('POST', '/filters/test', { filter: contentFilter, records: part.map((r) => r.Data) });
        res.results.forEach((x, j) => x.keep && kept.push(part[j]));
      }
      out = kept;
    }
    const shown = out.length > limit ? out.slice(-limit) : out;
    return { count: out.length, rows: shown.map((r) => ({ ...r, decoded: decode(r.Data) })) };
  }

  async function iteratorFor(s, type) {
    const p = { StreamName: name, ShardId: s.ShardId, ShardIteratorType: type };
    if (type === 'AT_TIMESTAMP') p.Timestamp = Date.parse(at) / 1000;
    if (type === 'AT_SEQUENCE_NUMBER' || type === 'AFTER_SEQUENCE_NUMBER') p.StartingSequenceNumber = at.trim();
    return (await kinesis('GetShardIterator', p)).ShardIterator;
  }

  // Reads up to `want` records from the position, shard after shard.
  async function browse(more) {
    const me = ++run.current;
    setTailing(false);
    setReading(true);
    setError(null);
    try {
      if (!more) {
        iterators.current = {};
        for (const s of chosen(shards)) iterators.current[s.ShardId] = await iteratorFor(s, position);
        setRows([]);
        setStats({ received: 0, matched: 0, rate: 0 });
      }
      let got = [];
      let received = 0;
      for (const [id, it0] of Object.entries(iterators.current)) {
        let it = it0;
        for (let round = 0; it && round < 10 && got.length < 500; round++) {
          const r = await kinesis('GetRecords', { ShardIterator: it, Limit: 500 });
          if (me !== run.current) return;
          it = r.NextShardIterator;
          received += r.Records.length;
          got = got.concat((await filterBatch(r.Records.map((x) => ({ ...x, shard: id })))).rows);
          if (r.Records.length === 0 && r.MillisBehindLatest === 0) break;
        }
        iterators.current[id] = it;
      }
      setRows((old) => (more ? old.concat(got) : got).slice(0, 2000));
      setStats((s) => ({ received: s.received + received, matched: s.matched + got.length, rate: 0 }));
    } catch (e) {
      if (me === run.current) setError(e);
    } finally {
      if (me === run.current) {
        setReading(false);
        setReads((n) => n + 1);
      }
    }
  }

  // Polls every open (chosen) shard from LATEST and shows what arrives, newest first.
  async function tail() {
    const me = ++run.current;
    setTailing('starting');
    setError(null);
    setRows([]);
    setStats({ received: 0, matched: 0, rate: 0 });
    try {
      const its = {};
      for (const s of chosen(openShards())) its[s.ShardId] = await iteratorFor(s, 'LATEST');
      if (me !== run.current) return;
      // Only now does the tail see every record put: one put before its shard's iterator
      // was taken is not shown, so "Tailing:" appears once every iterator exists.
      setTailing(true);
      let window = [];
      while (me === run.current) {
        const started = performance.now();
        let batch = [];
        let received = 0;
        await Promise.all(Object.entries(its).map(async ([id, it]) => {
          if (!it) return;
          const r = await kinesis('GetRecords', { ShardIterator: it, Limit: 10000 });
          its[id] = r.NextShardIterator;
          received += r.Records.length;
          batch = batch.concat(r.Records.map((x) => ({ ...x, shard: id })));
        }));
        if (me !== run.current) return;
        const now = Date.now();
        window = window.filter((w) => now - w.t < 5000);
        window.push({ t: now, n: received });
        const { count, rows: shown } = await filterBatch(batch, SHOWN);
        if (me !== run.current) return;
        if (shown.length) setRows((old) => shown.reverse().concat(old).slice(0, SHOWN));
        setStats((s) => ({
          received: s.received + received, matched: s.matched + count,
          rate: window.reduce((a, w) => a + w.n, 0) / 5,
        }));
        await new Promise((ok) => setTimeout(ok, Math.max(0, POLL_MS - (performance.now() - started))));
      }
    } catch (e) {
      if (me === run.current) { setError(e); setTailing(false); }
    }
  }

  const stop = () => { run.current++; setTailing(false); setReading(false); };
  const needsAt = position === 'AT_TIMESTAMP' || position === 'AT_SEQUENCE_NUMBER' || position === 'AFTER_SEQUENCE_NUMBER';
  return (
    <section>
      <div class="title"><h1><a href="#/streams">Streams</a> / <a href={`#/streams/${encodeURIComponent(name)}`}>{name}</a> / records</h1></div>
      <div class="toolbar">
        <label>Shard
          <select value={shard} onChange={(e) => setShard(e.target.value)}>
            <option value="*">all shards</option>
            {(shards || []).map((s) => <option value={s.ShardId}>{s.ShardId}</option>)}
          </select>
        </label>
        <label>From
          <select value={position} onChange={(e) => setPosition(e.target.value)}>
            <option value="TRIM_HORIZON">trim horizon (oldest)</option>
            <option value="LATEST">latest</option>
            <option value="AT_TIMESTAMP">a time</option>
            <option value="AT_SEQUENCE_NUMBER">a sequence number</option>
            <option value="AFTER_SEQUENCE_NUMBER">after a sequence number</option>
          </select>
        </label>
        {needsAt && <input class="mono" placeholder={position === 'AT_TIMESTAMP' ? '2026-12-06T10:00:00Z' : 'sequence number'}
                           value={at} onInput={(e) => setAt(e.target.value)} />}
        <label>Partition key contains <input name="key-filter" value={keyFilter} onInput={(e) => setKeyFilter(e.target.value)} /></label>
        <label>Content (jq) <input name="content-filter" class="mono" placeholder='.type == "order"' value={contentFilter}
                                   disabled={!can['millrace:TestFilter']}
                                   title={can['millrace:TestFilter'] ? '' : 'needs millrace:TestFilter (the server runs the expression)'}
                                   onInput={(e) => setContentFilter(e.target.value)} /></label>
        <button class="primary" disabled={!shards || tailing || reading} onClick={() => browse(false)}>Read</button>
        <button disabled={!shards || tailing || reading || rows.length === 0} onClick={() => browse(true)}>Read more</button>
        {tailing ? <button class="danger" onClick={stop}>Stop tail</button>
          : <button disabled={!shards} onClick={tail}>Live tail</button>}
      </div>
      <ErrorBox error={error} onClose={() => setError(null)} />
      <p class="small stats" aria-live="polite" data-reads={reads}>
        {reading ? 'Reading… ' : ''}
        {tailing === 'starting' ? 'Starting the tail… ' : ''}
        {tailing === true ? `Tailing: ${stats.rate.toFixed(0)} records/s, ` : ''}
        <span class="received">{stats.received}</span> received, <span class="matched">{stats.matched}</span> shown
        {tailing ? ` (the newest ${SHOWN})` : ''}
      </p>
      <table class="records">
        <thead><tr><th>Shard</th><th>Sequence</th><th>Arrived</th><th>Partition key</th><th>Data</th></tr></thead>
        <tbody>{rows.map((r) => <Row key={r.SequenceNumber} r={r} />)}</tbody>
      </table>
    </section>
  );
}
