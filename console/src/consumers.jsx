// Consumers: the list (state, lag in records and time), the details page (lag chart sampled
// while open, counters, the last error in full), create and edit (buffering, dataset,
// transformation, filter), pause/resume and delete: the control API's /consumers.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { arn, control } from './api.js';
import { Chart, Dialog, ErrorBox, ListTitle, Loading, Paged, fmtMillis, useAsync, useCan, useInterval } from './ui.jsx';

const ALL = () => arn('millrace', 'consumer', '*');

function StateBadge({ state }) {
  return <span class={`badge state-${(state || '').toLowerCase()}`}>{state}</span>;
}

export function ConsumerList() {
  const state = useAsync(() => control('GET', '/consumers').then((r) => r.consumers), []);
  useInterval(state.reload, 5000);
  const can = useCan([['millrace:CreateConsumer', ALL()]]);
  const [creating, setCreating] = useState(false);
  return (
    <section>
      <ListTitle title="Consumers" what="consumer" allowed={can['millrace:CreateConsumer']}
                 onPlus={() => setCreating(true)} />
      <Loading state={state}>
        {(consumers) => (
          <Paged rows={consumers} head={['Name', 'Stream', 'Dataset', 'State', 'Lag (records)', 'Lag (time)', 'Delivered', 'Last error']}
                 empty="No consumers yet: create one with + to deliver a stream's records into a dataset."
                 row={(c) => (
                   <tr>
                     <td><a href={`#/consumers/${encodeURIComponent(c.name)}`}>{c.name}</a></td>
                     <td><a href={`#/streams/${encodeURIComponent(c.stream)}`}>{c.stream}</a></td>
                     <td><a href={`#/datasets/${encodeURIComponent(c.dataset)}`}>{c.dataset}</a></td>
                     <td><StateBadge state={c.state} /></td>
                     <td class="num">{c.lag ? c.lag.records_behind : ''}</td>
                     <td class="num">{c.lag ? fmtMillis(c.lag.millis_behind) : ''}</td>
                     <td class="num">{c.records_delivered}</td>
                     <td class="small error-text">{(c.last_error || '').slice(0, 80)}</td>
                   </tr>
                 )} />
        )}
      </Loading>
      {creating && <ConsumerForm onClose={(done) => { setCreating(false); done && state.reload(); }} />}
    </section>
  );
}

// Create (no `consumer`) or edit a consumer.
function ConsumerForm({ consumer, onClose }) {
  const options = useAsync(() => Promise.all([
    control('GET', '/streams').then((r) => r.streams.map((s) => s.name)),
    control('GET', '/datasets').then((r) => r.datasets.map((d) => d.name)),
    control('GET', '/transformations').then((r) => r.transformations.map((t) => t.name)).catch(() => []),
  ]), []);
  const c = consumer || {};
  return (
    <Dialog title={consumer ? `Edit ${c.name}` : 'Create consumer'} submit={consumer ? 'Save' : 'Create'}
            onClose={onClose} onSubmit={async (f) => {
      const body = {
        stream: f.stream.value, dataset: f.dataset.value,
        buffer_size_mib: Number(f.size.value), buffer_interval_seconds: Number(f.interval.value),
        filter: f.filter.value, transformation: f.transformation.value,
      };
      if (consumer) {
        await control('PUT', `/consumers/${encodeURIComponent(c.name)}`, body);
      } else {
        body.name = f.name.value.trim();
        body.starting_position = f.start.value;
        if (!body.filter) delete body.filter;
        if (!body.transformation) delete body.transformation;
        await control('POST', '/consumers', body);
      }
    }}>
      <Loading state={options}>
        {([streams, datasets, transformations]) => (
          <div class="form">
            {!consumer && <label>Name <input name="name" required maxLength={128} pattern="[a-zA-Z0-9_.\-]+" /></label>}
            <label>Stream <select name="stream" defaultValue={c.stream}>{streams.map((s) => <option>{s}</option>)}</select></label>
            <label>Dataset <select name="dataset" defaultValue={c.dataset}>{datasets.map((d) => <option>{d}</option>)}</select></label>
            {datasets.length === 0 && <p class="note">Create a dataset first (Datasets, +).</p>}
            <label>Buffer size (MiB, 1 to 128) <input name="size" type="number" min="1" max="128" value={c.buffer_size_mib ?? 5} /></label>
            <label>Buffer interval (seconds, 0 to 900) <input name="interval" type="number" min="0" max="900" value={c.buffer_interval_seconds ?? 300} /></label>
            {!consumer && (
              <label>Start from <select name="start"><option value="TRIM_HORIZON">trim horizon (every record held)</option>
                <option value="LATEST">latest (from now on)</option></select></label>
            )}
            <label>Transformation <select name="transformation" defaultValue={c.transformation || ''}>
              <option value="">none</option>{transformations.map((t) => <option>{t}</option>)}</select></label>
            <label>Filter (jq) <input name="filter" class="mono" value={c.filter || ''} placeholder='.tenant == "ACME"' /></label>
          </div>
        )}
      </Loading>
    </Dialog>
  );
}

export function ConsumerDetails({ name }) {
  const path = `/consumers/${encodeURIComponent(name)}`;
  const state = useAsync(() => control('GET', path), [name]);
  const res = arn('millrace', 'consumer', name);
  const can = useCan([['millrace:UpdateConsumer', res], ['millrace:DeleteConsumer', res],
                      ['millrace:PauseConsumer', res], ['millrace:ResumeConsumer', res]]);
  const [dialog, setDialog] = useState(null);
  const [error, setError] = useState(null);
  // The lag over the last hour: the server's samples (every 30 s), then the page's own
  // (every 5 s, from the details it refreshes) since it opened.
  const history = useAsync(() => control('GET', `${path}/lag`), [name]);
  const [live, setLive] = useState([]);
  useInterval(() => state.reload(), 5000);
  useEffect(() => {
    const c = state.data;
    if (c && c.lag) setLive((l) => [...l, { time_ms: Date.now(), records_behind: c.lag.records_behind,
                                            millis_behind: c.lag.millis_behind }].slice(-720));
  }, [state.data]);
  const lag = useMemo(() => {
    const all = [...((history.data && history.data.samples) || []), ...live].sort((a, b) => a.time_ms - b.time_ms);
    return { times: all.map((x) => x.time_ms / 1000), records: all.map((x) => x.records_behind),
             seconds: all.map((x) => x.millis_behind / 1000) };
  }, [history.data, live]);
  const act = async (what) => {
    setError(null);
    try {
      await control('POST', `${path}/${what}`);
      state.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section>
      <div class="title">
        <h1><a href="#/consumers">Consumers</a> / {name}</h1>
        {state.data && (state.data.paused
          ? <button disabled={!can['millrace:ResumeConsumer']} onClick={() => act('resume')}>Resume</button>
          : <button disabled={!can['millrace:PauseConsumer']} onClick={() => act('pause')}>Pause</button>)}
        <button disabled={!can['millrace:UpdateConsumer']} onClick={() => setDialog('edit')}>Edit</button>
        <button class="danger" disabled={!can['millrace:DeleteConsumer']} onClick={() => setDialog('delete')}>Delete</button>
      </div>
      <ErrorBox error={error} onClose={() => setError(null)} />
      <Loading state={state}>
        {(c) => (
          <div>
            <dl class="facts">
              <dt>State</dt><dd><StateBadge state={c.state} /></dd>
              <dt>Stream</dt><dd><a href={`#/streams/${encodeURIComponent(c.stream)}`}>{c.stream}</a></dd>
              <dt>Dataset</dt><dd><a href={`#/datasets/${encodeURIComponent(c.dataset)}`}>{c.dataset}</a></dd>
              <dt>Buffering</dt><dd>{c.buffer_size_mib} MiB or {c.buffer_interval_seconds} s</dd>
              <dt>Transformation</dt><dd>{c.transformation ? <a href={`#/transformations/${encodeURIComponent(c.transformation)}`}>{c.transformation}</a> : 'none'}</dd>
              <dt>Filter</dt><dd class="mono">{c.filter || 'none'}</dd>
              <dt>Version</dt><dd>{c.version} (updated {c.updated_at})</dd>
              <dt>Lag</dt><dd>{c.lag ? `${c.lag.records_behind} records, ${fmtMillis(c.lag.millis_behind)}` : ''}</dd>
            </dl>
            <h2>Counters</h2>
            <dl class="facts">{Object.entries(c.counters || {}).map(([k, v]) => <><dt>{k.replace(/_/g, ' ')}</dt><dd class="num">{v}</dd></>)}</dl>
            {c.last_error && (
              <div><h2>Last error</h2>
                <p class="small">{c.last_error_at} · {c.consecutive_failures} consecutive failures</p>
                <pre class="code error-text last-error">{c.last_error}</pre></div>
            )}
            <h2>Lag, the last hour</h2>
            {lag.times.length < 2 ? <p class="note">Collecting samples…</p>
              : <Chart times={lag.times} series={[{ label: 'records behind', values: lag.records },
                                                  { label: 'seconds behind', values: lag.seconds }]} />}
            {c.lag && c.lag.shards && (
              <table><thead><tr><th>Shard</th><th>Records behind</th><th>Time behind</th></tr></thead>
                <tbody>{c.lag.shards.map((s) => <tr><td>{s.shard_id}</td><td class="num">{s.records_behind}</td>
                  <td class="num">{fmtMillis(s.millis_behind)}</td></tr>)}</tbody></table>
            )}
            {dialog === 'edit' && <ConsumerForm consumer={c} onClose={(done) => { setDialog(null); done && state.reload(); }} />}
            {dialog === 'delete' && (
              <Dialog title={`Delete ${name}?`} submit="Delete" danger onClose={(done) => {
                setDialog(null);
                if (done) location.hash = '#/consumers';
              }} onSubmit={() => control('DELETE', path)}>
                <p>It stops and forgets its checkpoints; its dataset and files stay.</p>
              </Dialog>
            )}
          </div>
        )}
      </Loading>
    </section>
  );
}
