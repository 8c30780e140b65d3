// Shared pieces of the console's pages: loading and errors, tables with pages, dialogs,
// a chart (uPlot), and the permission checks that grey out what a key may not do.
import { useEffect, useMemo, useRef, useState, useCallback } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { permissions } from './api.js';

// Runs `load` (an async function) when `deps` change; { data, error, loading, reload }.
export function useAsync(load, deps) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const seq = useRef(0);
  const reload = useCallback(() => {
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => n === seq.current && setState({ data, error: null, loading: false }),
      (error) => n === seq.current && setState({ data: undefined, error, loading: false }),
    );
  }, deps);
  useEffect(reload, [reload]);
  return { ...state, reload };
}

// Calls `fn` every `ms` while the component is shown and the tab is visible.
export function useInterval(fn, ms) {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (!ms) return undefined;
    const id = setInterval(() => document.visibilityState === 'visible' && saved.current(), ms);
    return () => clearInterval(id);
  }, [ms]);
}

// { 'kinesis:CreateStream': true, ... } for the given [action, resource] pairs.
export function useCan(checks) {
  const key = JSON.stringify(checks);
  const [can, setCan] = useState({});
  useEffect(() => {
    let live = true;
    permissions(checks.map(([action, resource]) => ({ action, resource }))).then(
      (r) => live && setCan(Object.fromEntries(r.checks.map((c) => [c.action, c.allowed]))),
      () => live && setCan({}),
    );
    return () => { live = false; };
  }, [key]);
  return can;
}

export function ErrorBox({ error, onClose }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      <strong>{error.code || 'Error'}</strong>{error.status ? ` (HTTP ${error.status})` : ''}:{' '}
      <span class="error-message">{error.message}</span>
      {onClose && <button class="link" onClick={onClose}>dismiss</button>}
    </div>
  );
}

export function Loading({ state, children }) {
  if (state.error) return <ErrorBox error={state.error} />;
  if (state.data === undefined) return <p class="loading">Loading…</p>;
  return children(state.data);
}

// A table of `rows` shown `pageSize` at a time.
export function Paged({ rows, pageSize = 50, head, row, empty = 'Nothing here yet.' }) {
  const [page, setPage] = useState(0);
  const pages = Math.max(1, Math.ceil(rows.length / pageSize));
  const p = Math.min(page, pages - 1);
  if (rows.length === 0) return <p class="empty">{empty}</p>;
  return (
    <div>
      <table>
        <thead><tr>{head.map((h) => <th>{h}</th>)}</tr></thead>
        <tbody>{rows.slice(p * pageSize, (p + 1) * pageSize).map(row)}</tbody>
      </table>
      {pages > 1 && (
        <div class="pager">
          <button disabled={p === 0} onClick={() => setPage(p - 1)}>‹ Previous</button>
          <span>Page {p + 1} of {pages} ({rows.length})</span>
          <button disabled={p >= pages - 1} onClick={() => setPage(p + 1)}>Next ›</button>
        </div>
      )}
    </div>
  );
}

// A list page's title with its '+' button (`what`: "stream", for "Create stream"), and
// whatever else goes beside them.
export function ListTitle({ title, what, allowed, onPlus, hint, children }) {
  return (
    <div class="title">
      <h1>{title}</h1>
      <button class="primary plus" aria-label={`Create ${what}`} title={hint || `Create a ${what}`}
              disabled={!allowed} onClick={onPlus}>+</button>
      {children}
    </div>
  );
}

// A modal dialog with a form; `onSubmit` is async, its error is shown in the dialog.
export function Dialog({ title, children, submit = 'Save', danger, onSubmit, onClose }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const go = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSubmit(e.target);
      onClose(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="backdrop">
      <form class="dialog" role="dialog" aria-label={title} onSubmit={go}>
        <h2>{title}</h2>
        {children}
        <ErrorBox error={error} />
        <div class="buttons">
          <button type="button" onClick={() => onClose(false)}>Cancel</button>
          <button type="submit" class={danger ? 'danger' : 'primary'} disabled={busy}>{submit}</button>
        </div>
      </form>
    </div>
  );
}

// A time-series chart: `series` [{label, values}] against `times` (seconds).
export function Chart({ title, times, series, height = 180 }) {
  const box = useRef(null);
  const plot = useRef(null);
  const data = useMemo(() => [times, ...series.map((s) => s.values)], [times, series]);
  useEffect(() => {
    const colors = ['#2563eb', '#dc2626', '#16a34a', '#9333ea'];
    plot.current = new uPlot({
      title, width: box.current.clientWidth || 600, height,
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: colors[i % 4], width: 2 }))],
      axes: [{}, { size: 60 }],
    }, data, box.current);
    return () => plot.current.destroy();
  }, [series.length, title]);
  useEffect(() => { plot.current && plot.current.setData(data); }, [data]);
  return <div class="chart" ref={box} />;
}

export const fmtTime = (ms) => (ms ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');
export const fmtBytes = (n) =>
  n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
export const fmtMillis = (ms) =>
  ms < 1000 ? `${ms} ms` : ms < 60000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60000).toFixed(1)} min`;
