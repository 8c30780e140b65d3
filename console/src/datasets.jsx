// Datasets: the list, the details page (schema, target), the files by folder (hour) through
// the S3 API, a preview of a file's first rows (JSON lines, CSV, Parquet decoded in the
// page; gzip, zstd and snappy undone), downloads, and the processing-failed and
// format-conversion-failed records with their error. And the change streams' list.
import { useState } from 'preact/hooks';
import { gunzipSync } from 'fflate';
import { decompress as zstdDecompress } from 'fzstd';
import { parquetMetadata, parquetReadObjects, snappyUncompress } from 'hyparquet';
import { arn, control, keyPath, listObjects, s3Get } from './api.js';
import { Dialog, ErrorBox, ListTitle, Loading, Paged, fmtBytes, useAsync, useCan, useInterval } from './ui.jsx';

const PREVIEW_ROWS = 50;
// Parquet page codecs beyond hyparquet's own (snappy, none): what our writer also writes.
const compressors = {
  ZSTD: (input, length) => zstdDecompress(input, new Uint8Array(length)),
  GZIP: (input, length) => gunzipSync(input, { out: new Uint8Array(length) }),
};
const PREVIEW_BYTES = 16 * 1048576; // a preview reads at most this much of a file

export function DatasetList() {
  const state = useAsync(() => control('GET', '/datasets').then((r) => r.datasets), []);
  const can = useCan([['millrace:CreateDataset', arn('millrace', 'dataset', '*')]]);
  const [creating, setCreating] = useState(false);
  return (
    <section>
      <ListTitle title="Datasets" what="dataset" allowed={can['millrace:CreateDataset']}
                 onPlus={() => setCreating(true)} />
      <Loading state={state}>
        {(list) => (
          <Paged rows={list} head={['Name', 'File type', 'Compression', 'Target', 'Bucket / prefix', 'Consumers']}
                 empty="No datasets yet: create one with +, or with a consumer."
                 row={(d) => (
                   <tr>
                     <td><a href={`#/datasets/${encodeURIComponent(d.name)}`}>{d.name}</a></td>
                     <td>{d.file_type}</td><td>{d.compression || 'none'}</td><td>{d.target.type}</td>
                     <td class="mono small">{d.bucket}/{d.prefix}</td>
                     <td>{(d.consumers || []).join(', ')}</td>
                   </tr>
                 )} />
        )}
      </Loading>
      {creating && (
        <Dialog title="Create dataset" submit="Create" onClose={(done) => { setCreating(false); done && state.reload(); }}
                onSubmit={(f) => control('POST', '/datasets', {
                  name: f.name.value.trim(), file_type: f.type.value, compression: f.compression.value,
                })}>
          <label>Name <input name="name" required maxLength={128} pattern="[a-zA-Z0-9_.\-]+" /></label>
          <label>File type <select name="type"><option value="jsonl">JSON lines</option><option value="csv">CSV</option>
            <option value="parquet">Parquet</option><option value="other">raw bytes</option></select></label>
          <label>Compression <select name="compression"><option value="">none (Parquet: snappy)</option>
            <option value="gzip">gzip</option><option value="zstd">zstd</option><option value="snappy">snappy</option></select></label>
          <p class="small">Columns of CSV and Parquet datasets are inferred from the first records; pin them with the control API.</p>
        </Dialog>
      )}
    </section>
  );
}

export function DatasetDetails({ name, folder }) {
  const state = useAsync(() => control('GET', `/datasets/${encodeURIComponent(name)}`), [name]);
  return (
    <section>
      <div class="title"><h1><a href="#/datasets">Datasets</a> / {name}</h1></div>
      <Loading state={state}>
        {(d) => (
          <div>
            <dl class="facts">
              <dt>File type</dt><dd>{d.file_type}{d.compression ? `, ${d.compression}` : ''}</dd>
              <dt>Target</dt><dd>{d.target.type}{d.target.bucket ? ` s3://${d.target.bucket}/${d.target.prefix || ''}` : ''}</dd>
              <dt>S3 API</dt><dd class="mono">s3://{d.bucket}/{d.prefix}</dd>
              <dt>Consumers</dt><dd>{(d.consumers || []).map((c) => <a class="chip" href={`#/consumers/${encodeURIComponent(c)}`}>{c}</a>)}</dd>
            </dl>
            {d.schema && d.schema.columns && (
              <div><h2>Schema{d.schema.inferred ? ' (inferred)' : ''}</h2>
                <table class="schema"><thead><tr><th>Column</th><th>Type</th><th>Nullable</th><th>Path</th></tr></thead>
                  <tbody>{d.schema.columns.map((c) => <tr><td>{c.name}</td><td class="mono">{c.type}</td>
                    <td>{c.nullable === false ? 'no' : 'yes'}</td><td class="mono">{c.path || ''}</td></tr>)}</tbody></table></div>
            )}
            {d.target.type === 'postgresql'
              ? <p class="note">This dataset loads a PostgreSQL table; its files are not kept.</p>
              : <Files dataset={d} folder={folder || ''} />}
          </div>
        )}
      </Loading>
    </section>
  );
}

// One folder of the dataset's files (the folders are the time: YYYY/MM/DD/HH/).
function Files({ dataset, folder }) {
  const prefix = dataset.prefix + folder;
  const state = useAsync(() => listObjects(dataset.bucket, prefix, { delimiter: '/' }), [dataset.bucket, prefix]);
  useInterval(state.reload, 10000);
  const [preview, setPreview] = useState(null);
  const here = (f) => `#/datasets/${encodeURIComponent(dataset.name)}/${f}`;
  const crumbs = folder.split('/').filter(Boolean);
  return (
    <div>
      <h2>Files</h2>
      <p class="crumbs"><a href={here('')}>{dataset.bucket}/{dataset.prefix}</a>
        {crumbs.map((c, i) => <> / <a href={here(crumbs.slice(0, i + 1).join('/') + '/')}>{c}</a></>)}</p>
      <Loading state={state}>
        {({ objects, prefixes }) => (
          <div>
            {prefixes.length > 0 && (
              <ul class="folders">{prefixes.map((p) => {
                const sub = p.slice(dataset.prefix.length);
                return <li><a class={/failed\/$/.test(p) ? 'failed' : ''} href={here(sub)}>{p.slice(prefix.length)}</a></li>;
              })}</ul>
            )}
            <Paged rows={objects} head={['File', 'Size', 'Written', '']} empty={prefixes.length ? '' : 'No files here yet.'}
                   row={(o) => (
                     <tr>
                       <td class="mono small">{o.key.slice(prefix.length)}</td><td class="num">{fmtBytes(o.size)}</td>
                       <td>{o.modified}</td>
                       <td><button onClick={() => setPreview(o)}>Preview</button>{' '}
                         <button onClick={() => download(dataset.bucket, o.key)}>Download</button></td>
                     </tr>
                   )} />
          </div>
        )}
      </Loading>
      {preview && <Preview dataset={dataset} object={preview} onClose={() => setPreview(null)} />}
    </div>
  );
}

async function download(bucket, key) {
  const res = await s3Get(keyPath(bucket, key));
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = key.split('/').pop();
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// The Snappy framing format (docs/format/datasets.md): chunks of raw snappy or plain bytes.
function unframeSnappy(bytes) {
  const parts = [];
  let total = 0;
  for (let i = 0; i + 4 <= bytes.length;) {
    const type = bytes[i];
    const len = bytes[i + 1] | (bytes[i + 2] << 8) | (bytes[i + 3] << 16);
    const body = bytes.subarray(i + 4, i + 4 + len);
    i += 4 + len;
    if (type === 0x00) {
      const data = body.subarray(4);
      let n = 0;
      for (let s = 0, b; s < 35; s += 7) { b = data[s / 7]; n |= (b & 0x7f) << s; if (b < 0x80) break; }
      const out = new Uint8Array(n);
      snappyUncompress(data, out);
      parts.push(out);
      total += n;
    } else if (type === 0x01) {
      parts.push(body.subarray(4));
      total += body.length - 4;
    }
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// A file's rows, told by its first bytes (a custom file_extension says nothing of the
// format): Parquet ("PAR1"), else text undone of gzip, zstd or snappy, as CSV in a CSV
// dataset, else JSON lines (error files, processing-failed/ and format-conversion-failed/,
// always are).
async function previewRows(dataset, key, bytes) {
  const failed = /(^|\/)(processing-failed|format-conversion-failed)\//.test(key);
  const type = failed ? 'jsonl' : dataset.file_type;
  if (bytes[0] === 0x50 && bytes[1] === 0x41 && bytes[2] === 0x52 && bytes[3] === 0x31) {
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
    const metadata = parquetMetadata(file);
    const rows = await parquetReadObjects({ file, metadata, rowEnd: PREVIEW_ROWS, compressors });
    return { rows, total: Number(metadata.num_rows) };
  }
  // The magic numbers say which whole-file compression there is, whatever the name.
  const m = (...b) => b.every((x, i) => bytes[i] === x);
  if (m(0x1f, 0x8b)) bytes = await gunzip(bytes);
  else if (m(0x28, 0xb5, 0x2f, 0xfd)) bytes = zstdDecompress(bytes);
  else if (m(0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59)) bytes = unframeSnappy(bytes);
  const text = new TextDecoder().decode(bytes);
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (type === 'csv') return { csv: lines.slice(0, PREVIEW_ROWS + 1), total: lines.length - 1 };
  const rows = lines.slice(0, PREVIEW_ROWS).map((l) => { try { return JSON.parse(l); } catch { return l; } });
  return { rows, total: lines.length };
}

// Splits a CSV line (RFC 4180 quoting).
function csvFields(line) {
  const out = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') quoted = false; else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out;
}

const cell = (v) => (v === null || v === undefined ? '' : typeof v === 'object'
  ? JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? x.toString() : x)) : String(v));

function Preview({ dataset, object, onClose }) {
  const state = useAsync(async () => {
    if (object.size > PREVIEW_BYTES && dataset.file_type === 'parquet')
      throw Object.assign(new Error(`a Parquet file over ${fmtBytes(PREVIEW_BYTES)} is not previewed; download it`),
                          { code: 'TooLarge' });
    const res = await s3Get(keyPath(dataset.bucket, object.key), undefined,
                            object.size > PREVIEW_BYTES ? { range: `bytes=0-${PREVIEW_BYTES - 1}` } : {});
    return previewRows(dataset, object.key, new Uint8Array(await res.arrayBuffer()));
  }, [object.key]);
  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class="dialog wide" role="dialog" aria-label="Preview">
        <h2>Preview: <span class="mono small">{object.key}</span></h2>
        <Loading state={state}>
          {(p) => {
            if (p.csv) {
              const [head, ...rest] = p.csv.map(csvFields);
              return <div class="scroll"><p class="small">{p.total} rows; the first {rest.length}:</p>
                <table class="preview"><thead><tr>{head.map((h) => <th>{h}</th>)}</tr></thead>
                  <tbody>{rest.map((r) => <tr>{r.map((c) => <td>{c}</td>)}</tr>)}</tbody></table></div>;
            }
            const objects = p.rows.every((r) => r && typeof r === 'object' && !Array.isArray(r));
            const cols = objects ? [...new Set(p.rows.flatMap((r) => Object.keys(r)))] : null;
            return <div class="scroll"><p class="small">{p.total} rows; the first {p.rows.length}:</p>
              {objects ? (
                <table class="preview"><thead><tr>{cols.map((c) => <th>{c}</th>)}</tr></thead>
                  <tbody>{p.rows.map((r) => <tr>{cols.map((c) => <td class="mono small">{cell(r[c])}</td>)}</tr>)}</tbody></table>
              ) : <pre class="code">{p.rows.map((r) => cell(r) + '\n')}</pre>}</div>;
          }}
        </Loading>
        <div class="buttons"><button onClick={onClose}>Close</button></div>
      </div>
    </div>
  );
}

export function ChangeStreamList() {
  const state = useAsync(() => control('GET', '/change-streams').then((r) => r.change_streams), []);
  useInterval(state.reload, 5000);
  const can = useCan([['millrace:PauseChangeStream', arn('millrace', 'change-stream', '*')]]);
  const [error, setError] = useState(null);
  const act = async (name, what) => {
    try {
      await control('POST', `/change-streams/${encodeURIComponent(name)}/${what}`);
      state.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section>
      <div class="title"><h1>Change streams</h1></div>
      <ErrorBox error={error} onClose={() => setError(null)} />
      <Loading state={state}>
        {(list) => (
          <Paged rows={list} head={['Name', 'Stream', 'Tables', 'State', 'Snapshot', 'Slot lag', 'Changes/s', '']}
                 empty="No change streams yet (the control API's /change-streams creates them from PostgreSQL)."
                 row={(c) => {
                   const tables = (c.snapshot_progress && c.snapshot_progress.tables) || [];
                   const copied = tables.reduce((a, t) => a + (t.rows_copied || 0), 0);
                   const estimated = tables.reduce((a, t) => a + (t.rows_estimated || 0), 0);
                   const done = !c.snapshot_progress || c.snapshot_progress.done;
                   const pct = done ? 100 : estimated ? Math.min(99, Math.floor((100 * copied) / estimated)) : 0;
                   return (
                     <tr>
                       <td>{c.name}</td>
                       <td><a href={`#/streams/${encodeURIComponent(c.stream)}`}>{c.stream}</a></td>
                       <td class="small">{(c.source.tables || []).join(', ')}</td>
                       <td><span class={`badge state-${(c.state || '').toLowerCase()}`}>{c.state}</span>
                         {c.last_error && <div class="small error-text">{c.last_error}</div>}</td>
                       <td><progress max="100" value={pct} title={`${pct}% (${copied} rows)`} /> {pct}%</td>
                       <td class="num">{c.lag ? `${fmtBytes(c.lag.bytes)}, ${c.lag.seconds} s` : ''}</td>
                       <td class="num">{c.changes_per_second ?? ''}</td>
                       <td>{c.paused
                         ? <button disabled={!can['millrace:PauseChangeStream']} onClick={() => act(c.name, 'resume')}>Resume</button>
                         : <button disabled={!can['millrace:PauseChangeStream']} onClick={() => act(c.name, 'pause')}>Pause</button>}</td>
                     </tr>
                   );
                 }} />
        )}
      </Loading>
    </section>
  );
}
