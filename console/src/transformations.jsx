// Transformations: the list (with the limits: 20 functions, 5 consumers each), code upload
// (a file or a zip, as the control API takes it), the details page with the function's
// logs (followed while open) and a test run on sample records.
import { useEffect, useRef, useState } from 'preact/hooks';
import { arn, control } from './api.js';
import { Dialog, ErrorBox, ListTitle, Loading, Paged, fmtBytes, useAsync, useCan, useInterval } from './ui.jsx';

const MAX_FUNCTIONS = 20;
const MAX_CONSUMERS = 5;

function readBase64(file) {
  return new Promise((ok, fail) => {
    const r = new FileReader();
    r.onload = () => ok(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => fail(r.error);
    r.readAsDataURL(file);
  });
}

export function TransformationList() {
  const state = useAsync(() => control('GET', '/transformations').then((r) => r.transformations), []);
  const can = useCan([['millrace:CreateTransformation', arn('millrace', 'transformation', '*')]]);
  const [creating, setCreating] = useState(false);
  const full = state.data && state.data.length >= MAX_FUNCTIONS;
  return (
    <section>
      <ListTitle title="Transformations" what="transformation" allowed={can['millrace:CreateTransformation'] && !full}
                 hint={full ? `At most ${MAX_FUNCTIONS} transformations` : 'Upload a function'} onPlus={() => setCreating(true)}>
        {state.data && <span class="small">{state.data.length} of {MAX_FUNCTIONS} functions</span>}
      </ListTitle>
      <Loading state={state}>
        {(list) => (
          <Paged rows={list} head={['Name', 'Runtime', 'Handler', 'Version', 'Code', 'Consumers']}
                 empty="No transformations yet: upload a function with +."
                 row={(t) => (
                   <tr>
                     <td><a href={`#/transformations/${encodeURIComponent(t.name)}`}>{t.name}</a></td>
                     <td>{t.runtime}</td><td class="mono">{t.handler}</td><td class="num">{t.version}</td>
                     <td class="small">{t.code.file_name} ({fmtBytes(t.code.size_bytes)})</td>
                     <td>{t.consumers.length} of {MAX_CONSUMERS}</td>
                   </tr>
                 )} />
        )}
      </Loading>
      {creating && <TransformationForm onClose={(done) => { setCreating(false); done && state.reload(); }} />}
    </section>
  );
}

function TransformationForm({ t, onClose }) {
  return (
    <Dialog title={t ? `New version of ${t.name}` : 'Upload transformation'} submit={t ? 'Save' : 'Create'}
            onClose={onClose} onSubmit={async (f) => {
      const body = { runtime: f.runtime.value, handler: f.handler.value.trim(),
                     memory_size_mb: Number(f.memory.value), timeout_seconds: Number(f.timeout.value) };
      const file = f.code.files[0];
      if (file) body.code = { file_name: file.name, content_base64: await readBase64(file) };
      if (t) {
        await control('PUT', `/transformations/${encodeURIComponent(t.name)}`, body);
      } else {
        body.name = f.name.value.trim();
        await control('POST', '/transformations', body);
      }
    }}>
      {!t && <label>Name <input name="name" required maxLength={128} /></label>}
      <label>Runtime <select name="runtime" defaultValue={t ? t.runtime : 'python3'}>
        <option value="python3">python3</option><option value="exec">exec</option></select></label>
      <label>Handler <input name="handler" class="mono" required value={t ? t.handler : 'main.handler'} /></label>
      <label>Code (a file, or a .zip){t ? ' — empty keeps the current code' : ''}
        <input name="code" type="file" required={!t} /></label>
      <label>Memory (MB, 128 to 10240) <input name="memory" type="number" min="128" max="10240" value={t ? t.memory_size_mb : 128} /></label>
      <label>Timeout (seconds, 1 to 300) <input name="timeout" type="number" min="1" max="300" value={t ? t.timeout_seconds : 60} /></label>
    </Dialog>
  );
}

export function TransformationDetails({ name }) {
  const path = `/transformations/${encodeURIComponent(name)}`;
  const state = useAsync(() => control('GET', path), [name]);
  const res = arn('millrace', 'transformation', name);
  const can = useCan([['millrace:UpdateTransformation', res], ['millrace:DeleteTransformation', res],
                      ['millrace:GetTransformationLogs', res], ['millrace:TestTransformation', res]]);
  const [dialog, setDialog] = useState(null);
  return (
    <section>
      <div class="title">
        <h1><a href="#/transformations">Transformations</a> / {name}</h1>
        <button disabled={!can['millrace:UpdateTransformation']} onClick={() => setDialog('edit')}>Upload new version</button>
        <button class="danger" disabled={!can['millrace:DeleteTransformation']} onClick={() => setDialog('delete')}>Delete</button>
      </div>
      <Loading state={state}>
        {(t) => (
          <div>
            <dl class="facts">
              <dt>Runtime</dt><dd>{t.runtime}</dd>
              <dt>Handler</dt><dd class="mono">{t.handler}</dd>
              <dt>Version</dt><dd>{t.version} (updated {t.updated_at})</dd>
              <dt>Code</dt><dd>{t.code.file_name}, {fmtBytes(t.code.size_bytes)}, SHA-256 <span class="mono small">{t.code.sha256}</span></dd>
              <dt>Limits</dt><dd>{t.memory_size_mb} MB, {t.timeout_seconds} s per invocation, network {t.network ? 'on' : 'off'}</dd>
              <dt>Consumers</dt><dd>{t.consumers.length} of {MAX_CONSUMERS}: {t.consumers.map((c) => (
                <a class="chip" href={`#/consumers/${encodeURIComponent(c)}`}>{c}</a>))}</dd>
            </dl>
            <TestRun name={name} allowed={can['millrace:TestTransformation']} />
            {can['millrace:GetTransformationLogs'] !== false && <Logs path={path} />}
            {dialog === 'edit' && <TransformationForm t={t} onClose={(done) => { setDialog(null); done && state.reload(); }} />}
            {dialog === 'delete' && (
              <Dialog title={`Delete ${name}?`} submit="Delete" danger onSubmit={() => control('DELETE', path)}
                      onClose={(done) => { setDialog(null); if (done) location.hash = '#/transformations'; }}>
                <p>Its code and logs are removed. A consumer that uses it must be changed first.</p>
              </Dialog>
            )}
          </div>
        )}
      </Loading>
    </section>
  );
}

// Runs the function on sample records (one per line) and shows each record's result.
function TestRun({ name, allowed }) {
  const [out, setOut] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const text = useRef(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      const lines = text.current.value.split('\n').filter((l) => l.length > 0);
      const enc = new TextEncoder();
      const records = lines.map((l) => {
        let bin = '';
        for (const b of enc.encode(l)) bin += String.fromCharCode(b);
        return { data: btoa(bin) };
      });
      setOut(await control('POST', `/transformations/${encodeURIComponent(name)}/test`, { records }));
    } catch (e) {
      setError(e);
      setOut(null);
    } finally {
      setBusy(false);
    }
  };
  const show = (b64) => {
    try {
      const bin = atob(b64);
      return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
    } catch {
      return b64;
    }
  };
  return (
    <div>
      <h2>Test</h2>
      <label>Sample records, one per line
        <textarea ref={text} rows="4" class="mono">{'{"id": 1, "name": "ada"}\n{"id": 2, "name": "grace"}'}</textarea></label>
      <button onClick={run} disabled={busy || !allowed}>Run on these records</button>
      <ErrorBox error={error} />
      {out && out.error && (
        <div class="error" role="alert"><strong>{out.error.code}</strong>: {out.error.message}
          {out.error.stack_trace.length > 0 && <pre class="code">{out.error.stack_trace.join('\n')}</pre>}</div>
      )}
      {out && out.records && (
        <table class="test-results"><thead><tr><th>#</th><th>Result</th><th>Data</th><th>Metadata</th></tr></thead>
          <tbody>{out.records.map((r, i) => (
            <tr><td>{i + 1}</td><td class={`badge result-${r.result.toLowerCase()}`}>{r.result}</td>
              <td class="mono small">{r.data === undefined ? '' : show(r.data)}</td>
              <td class="mono small">{r.metadata ? JSON.stringify(r.metadata) : ''}</td></tr>))}
          </tbody></table>
      )}
      {out && out.duration_ms !== undefined && <p class="small">Ran in {out.duration_ms} ms.</p>}
    </div>
  );
}

// The function's log lines, newest last, followed every 2 s while open.
function Logs({ path }) {
  const [lines, setLines] = useState([]);
  const [error, setError] = useState(null);
  const since = useRef(0);
  const poll = async () => {
    try {
      const r = await control('GET', `${path}/logs?since=${since.current}&limit=1000`);
      if (r.lines.length) {
        since.current = r.lines[r.lines.length - 1].time_ms + 1;
        setLines((old) => old.concat(r.lines).slice(-2000));
      }
      setError(null);
    } catch (e) {
      setError(e);
    }
  };
  useInterval(poll, 2000);
  useEffect(() => { poll(); }, [path]);
  return (
    <div>
      <h2>Logs</h2>
      <ErrorBox error={error} />
      {lines.length === 0 ? <p class="note">No log lines yet (the function's prints and stack traces appear here).</p>
        : <pre class="code logs">{lines.map((l) => `${l.time} ${l.invocation_id ? l.invocation_id.slice(0, 8) : '--------'} ${l.text}\n`)}</pre>}
    </div>
  );
}
