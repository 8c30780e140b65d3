// Rates from the server's /metrics (Prometheus text, signed for millrace:GetMetrics when the
// server guards it): the console samples it while a page that shows rates is open, so the
// charts cover the time since the page opened.
import { useRef, useState } from 'preact/hooks';
import { sign } from './sigv4.js';
import { ApiError, identity, currentSession } from './api.js';
import { useInterval } from './ui.jsx';

export async function fetchMetrics() {
  const s = currentSession();
  const headers = s
    ? sign({ method: 'GET', host: location.host, path: '/metrics', headers: {}, service: 'millrace',
             region: identity.region, credentials: s })
    : {};
  const res = await fetch('/metrics', { headers });
  if (!res.ok) throw new ApiError(res.status, res.status === 403 ? 'AccessDenied' : '',
                                  'the rates need millrace:GetMetrics (GET /metrics)');
  const values = new Map();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line[0] === '#') continue;
    const sp = line.lastIndexOf(' ');
    values.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return { at: Date.now() / 1000, values };
}

// Per-second rate of `series` between two samples (0 if it went down: a restart).
export function rate(prev, cur, series) {
  if (!prev || !cur) return 0;
  const a = prev.values.get(series);
  const b = cur.values.get(series);
  if (a === undefined || b === undefined || b < a) return 0;
  return (b - a) / Math.max(0.001, cur.at - prev.at);
}

export const streamSeries = (metric, stream) => `${metric}{stream="${stream}"}`;

// Per-second rates of some /metrics series, sampled every 5 s while the component is
// shown: `seriesOf()` gives {label: series}; the answer is {label: rate} (a label whose
// series /metrics lacks is left out; nothing without millrace:GetMetrics).
export function useRates(seriesOf) {
  const [rates, setRates] = useState({});
  const last = useRef(null);
  useInterval(async () => {
    try {
      const m = await fetchMetrics();
      const prev = last.current;
      last.current = m;
      if (!prev) return;
      const r = {};
      for (const [label, series] of Object.entries(seriesOf()))
        if (m.values.has(series)) r[label] = rate(prev, m, series);
      setRates(r);
    } catch {
      // rates need millrace:GetMetrics
    }
  }, 5000);
  return rates;
}
