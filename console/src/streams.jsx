// Streams: the list (mode, shards, ingest rate, retention), '+' to create, the details page
// (shards, rates, connection details, consumers), editing retention, mode, shard count and
// tags, and deletion with confirmation. Kinesis actions for changes; the control API's
// read-only /streams for the lists (one call for mode, shards and retention of them all).
import { useMemo, useState } from 'preact/hooks';
import { arn, control, identity, kinesis } from './api.js';
import { streamSeries, useRates } from './metrics.js';
import { Chart, Dialog, ErrorBox, ListTitle, Loading, Paged, useAsync, useCan, useInterval } from './ui.jsx';

const STREAM_ALL = () => arn('kinesis', 'stream', '*');

export function StreamList() {
  const state = useAsync(() => control('GET', '/streams').then((r) => r.streams), []);
  const can = useCan([['kinesis:CreateStream', STREAM_ALL()]]);
  const [creating, setCreating] = useState(false);
  const [filter, setFilter] = useState('');
  const rates = useRates(() => Object.fromEntries((state.data || []).map(
    (s) => [s.name, streamSeries('millrace_stream_records_in_total', s.name)])));
  return (
    <section>
      <ListTitle title="Streams" what="stream" allowed={can['kinesis:CreateStream']}
                 onPlus={() => setCreating(true)}>
        <input type="search" placeholder="Filter by name" value={filter}
               onInput={(e) => setFilter(e.target.value)} />
      </ListTitle>
      <Loading state={state}>
        {(streams) => (
          <Paged rows={streams.filter((s) => s.name.includes(filter))}
                 head={['Name', 'Status', 'Mode', 'Open shards', 'Records in /s', 'Retention', 'Created']}
                 empty="No streams yet: create one with +, or with any Kinesis client."
                 row={(s) => (
                   <tr>
                     <td><a href={`#/streams/${encodeURIComponent(s.name)}`}>{s.name}</a></td>
                     <td>{s.status}</td><td>{s.mode}</td><td class="num">{s.shard_count}</td>
                     <td class="num">{rates[s.name] === undefined ? '…' : rates[s.name].toFixed(1)}</td>
                     <td class="num">{s.retention_hours} h</td><td>{s.created_at}</td>
                   </tr>
                 )} />
        )}
      </Loading>
      {creating && <CreateStream onClose={(done) => { setCreating(false); done && state.reload(); }} />}
    </section>
  );
}

function CreateStream({ onClose }) {
  const [mode, setMode] = useState('PROVISIONED');
  return (
    <Dialog title="Create stream" submit="Create" onClose={onClose} onSubmit={async (f) => {
      const params = { StreamName: f.name.value.trim(), StreamModeDetails: { StreamMode: mode } };
      if (mode === 'PROVISIONED') params.ShardCount = Number(f.shards.value);
      await kinesis('CreateStream', params);
    }}>
      <label>Name <input name="name" required maxLength={128} pattern="[a-zA-Z0-9_.\-]+"
                         title="1 to 128 of a-z A-Z 0-9 _ . -" autofocus /></label>
      <label>Capacity mode
        <select name="mode" value={mode} onChange={(e) => setMode(e.target.value)}>
          <option value="PROVISIONED">Provisioned</option>
          <option value="ON_DEMAND">On-demand</option>
        </select>
      </label>
      {mode === 'PROVISIONED' && (
        <label>Shards <input name="shards" type="number" min="1" max="500" value="1" required /></label>
      )}
    </Dialog>
  );
}

export function StreamDetails({ name }) {
  const state = useAsync(async () => {
    const [stream, summary, tags] = await Promise.all([
      control('GET', `/streams/${encodeURIComponent(name)}`),
      kinesis('DescribeStreamSummary', { StreamName: name }).then((r) => r.StreamDescriptionSummary),
      kinesis('ListTagsForStream', { StreamName: name }).then((r) => r.Tags).catch(() => null),
    ]);
    return { stream, summary, tags };
  }, [name]);
  const res = arn('kinesis', 'stream', name);
  const can = useCan([
    ['kinesis:DeleteStream', res], ['kinesis:IncreaseStreamRetentionPeriod', res],
    ['kinesis:UpdateShardCount', res], ['kinesis:UpdateStreamMode', res],
    ['kinesis:AddTagsToStream', res], ['kinesis:GetRecords', res],
  ]);
  const [dialog, setDialog] = useState(null);
  const close = (done) => { setDialog(null); done && state.reload(); };
  return (
    <section>
      <div class="title">
        <h1><a href="#/streams">Streams</a> / {name}</h1>
        <a class="button" href={`#/streams/${encodeURIComponent(name)}/records`}
           aria-disabled={!can['kinesis:GetRecords']}>Browse records</a>
        <button disabled={!can['kinesis:IncreaseStreamRetentionPeriod']} onClick={() => setDialog('edit')}>Edit</button>
        <button disabled={!can['kinesis:AddTagsToStream']} onClick={() => setDialog('tags')}>Tags</button>
        <button class="danger" disabled={!can['kinesis:DeleteStream']} onClick={() => setDialog('delete')}>Delete</button>
      </div>
      <Loading state={state}>
        {({ stream, summary, tags }) => (
          <div>
            <dl class="facts">
              <dt>Status</dt><dd>{stream.status}</dd>
              <dt>Mode</dt><dd>{stream.mode}</dd>
              <dt>Open shards</dt><dd>{stream.shard_count}</dd>
              <dt>Retention</dt><dd>{stream.retention_hours} hours</dd>
              <dt>Encryption</dt><dd>{summary.EncryptionType || 'NONE'}{summary.KeyId ? ` (${summary.KeyId})` : ''}</dd>
              <dt>Created</dt><dd>{stream.created_at}</dd>
              <dt>Consumers</dt>
              <dd>{stream.consumers.length === 0 ? 'none' : stream.consumers.map((c) => (
                <a class="chip" href={`#/consumers/${encodeURIComponent(c)}`}>{c}</a>))}</dd>
              <dt>Tags</dt>
              <dd>{tags === null ? '(not allowed)' : tags.length === 0 ? 'none'
                : tags.map((t) => <span class="chip">{t.Key}={t.Value}</span>)}</dd>
            </dl>
            <StreamRates name={name} shards={stream.shards} />
            <h2>Shards</h2>
            <table>
              <thead><tr><th>Shard</th><th>Open</th><th>Parent</th><th>Hash key range</th></tr></thead>
              <tbody>{stream.shards.map((s) => (
                <tr><td>{s.id}</td><td>{s.open ? 'open' : 'closed'}</td><td>{s.parent || ''}</td>
                  <td class="mono small">{s.hash_range.start} – {s.hash_range.end}</td></tr>))}</tbody>
            </table>
            <Connection name={name} streamArn={stream.arn} />
            {dialog === 'edit' && <EditStream stream={stream} onClose={close} />}
            {dialog === 'tags' && <EditTags name={name} tags={tags || []} onClose={close} />}
            {dialog === 'delete' && <DeleteStream name={name} onClose={(done) => {
              setDialog(null);
              if (done) location.hash = '#/streams';
            }} />}
          </div>
        )}
      </Loading>
    </section>
  );
}

// Records in and out per second over the last hour (the server's samples, every 10 s:
// ?request_type=get_metrics), and per shard from /metrics where enhanced monitoring is on.
function StreamRates({ name, shards }) {
  const hist = useAsync(() => control('GET', `/streams/${encodeURIComponent(name)}?request_type=get_metrics`), [name]);
  useInterval(hist.reload, 10000);
  const perShard = useRates(() => Object.fromEntries(shards.map(
    (s) => [s.id, `millrace_shard_incoming_records_total{stream="${name}",shard="${s.id}"}`])));
  const data = useMemo(() => {
    const h = hist.data;
    if (!h) return null;
    const per = (k) => h.samples.map((x) => x[k] / h.interval_seconds);
    return { times: h.samples.map((x) => x.time_ms / 1000), inn: per('records_in'), out: per('records_out') };
  }, [hist.data]);
  return (
    <div>
      <h2>Records per second, the last hour</h2>
      <ErrorBox error={hist.error} />
      {data && (data.times.length < 2
        ? <p class="note">The server samples every 10 s; the chart starts with the second sample.</p>
        : <Chart title="" times={data.times}
                 series={[{ label: 'in', values: data.inn }, { label: 'out', values: data.out }]} />)}
      {Object.keys(perShard).length > 0 && (
        <p class="small">Per shard (in/s, now): {Object.entries(perShard).map(([id, v]) => (
          <span class="chip">{id}: {v.toFixed(1)}</span>))}</p>
      )}
    </div>
  );
}

function Connection({ name, streamArn }) {
  const endpoint = location.origin;
  const snippet = `import boto3

kinesis = boto3.client("kinesis", endpoint_url="${endpoint}",
                       region_name="${identity.region}")
kinesis.put_record(StreamName="${name}", Data=b'{"hello": "world"}',
                   PartitionKey="key-1")`;
  return (
    <div>
      <h2>Connection details</h2>
      <dl class="facts">
        <dt>Endpoint</dt><dd class="mono">{endpoint}</dd>
        <dt>Region</dt><dd class="mono">{identity.region}</dd>
        <dt>Stream ARN</dt><dd class="mono">{streamArn}</dd>
      </dl>
      <p class="small">With an access key in <code>~/.aws/credentials</code> (or
        <code> AWS_ACCESS_KEY_ID</code>/<code>AWS_SECRET_ACCESS_KEY</code>):</p>
      <pre class="code">{snippet}</pre>
    </div>
  );
}

function EditStream({ stream, onClose }) {
  return (
    <Dialog title={`Edit ${stream.name}`} onClose={onClose} onSubmit={async (f) => {
      const hours = Number(f.retention.value);
      if (hours > stream.retention_hours)
        await kinesis('IncreaseStreamRetentionPeriod', { StreamName: stream.name, RetentionPeriodHours: hours });
      else if (hours < stream.retention_hours)
        await kinesis('DecreaseStreamRetentionPeriod', { StreamName: stream.name, RetentionPeriodHours: hours });
      if (f.mode.value !== stream.mode)
        await kinesis('UpdateStreamMode', { StreamARN: stream.arn, StreamModeDetails: { StreamMode: f.mode.value } });
      else if (stream.mode === 'PROVISIONED' && Number(f.shards.value) !== stream.shard_count)
        await kinesis('UpdateShardCount', { StreamName: stream.name, TargetShardCount: Number(f.shards.value),
                                            ScalingType: 'UNIFORM_SCALING' });
    }}>
      <label>Retention (hours, 24 to 8760)
        <input name="retention" type="number" min="24" max="8760" value={stream.retention_hours} required /></label>
      <label>Capacity mode
        <select name="mode" defaultValue={stream.mode}>
          <option value="PROVISIONED">Provisioned</option>
          <option value="ON_DEMAND">On-demand</option>
        </select>
      </label>
      <label>Open shards (provisioned)
        <input name="shards" type="number" min="1" max="500" value={stream.shard_count}
               disabled={stream.mode !== 'PROVISIONED'} /></label>
    </Dialog>
  );
}

function EditTags({ name, tags, onClose }) {
  const text = tags.map((t) => `${t.Key}=${t.Value}`).join('\n');
  return (
    <Dialog title={`Tags of ${name}`} onClose={onClose} onSubmit={async (f) => {
      const want = {};
      for (const line of f.tags.value.split('\n').map((l) => l.trim()).filter(Boolean)) {
        const eq = line.indexOf('=');
        want[eq < 0 ? line : line.slice(0, eq)] = eq < 0 ? '' : line.slice(eq + 1);
      }
      const gone = tags.filter((t) => !(t.Key in want)).map((t) => t.Key);
      if (gone.length) await kinesis('RemoveTagsFromStream', { StreamName: name, TagKeys: gone });
      if (Object.keys(want).length) await kinesis('AddTagsToStream', { StreamName: name, Tags: want });
    }}>
      <label>One <code>key=value</code> per line
        <textarea name="tags" rows="6">{text}</textarea></label>
    </Dialog>
  );
}

function DeleteStream({ name, onClose }) {
  const [typed, setTyped] = useState('');
  return (
    <Dialog title={`Delete ${name}?`} submit="Delete" danger onClose={onClose} onSubmit={async () => {
      if (typed !== name) throw Object.assign(new Error('type the stream\'s name to confirm'), { code: 'Confirm' });
      await kinesis('DeleteStream', { StreamName: name, EnforceConsumerDeletion: true });
    }}>
      <p>Its records are deleted with it; consumers reading it wait for a stream of that name.</p>
      <label>Type <strong>{name}</strong> to confirm
        <input name="confirm" value={typed} onInput={(e) => setTyped(e.target.value)} autocomplete="off" /></label>
    </Dialog>
  );
}

