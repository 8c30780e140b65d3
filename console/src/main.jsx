// The console's shell: sign-in, the navigation, and the pages by the URL's fragment
// (#/streams, #/streams/<name>, #/streams/<name>/records, #/consumers/<name>, ...).
import { render } from 'preact';
import { useEffect, useErrorBoundary, useState } from 'preact/hooks';
import { Access } from './access.jsx';
import { identity, loadSession, probe, signIn, signOut, signedIn } from './api.js';
import { ConsumerDetails, ConsumerList } from './consumers.jsx';
import { ChangeStreamList, DatasetDetails, DatasetList } from './datasets.jsx';
import { RecordBrowser } from './records.jsx';
import { StreamDetails, StreamList } from './streams.jsx';
import { TransformationDetails, TransformationList } from './transformations.jsx';
import { ErrorBox } from './ui.jsx';
import './style.css';

function useRoute() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const parts = hash.replace(/^#\/?/, '').split('/');
  return parts.map((p, i) => (i < 2 ? decodeURIComponent(p) : p));
}

function Page({ route }) {
  const [section, name, ...rest] = route;
  switch (section || 'streams') {
    case 'streams':
      if (!name) return <StreamList />;
      return rest[0] === 'records' ? <RecordBrowser name={name} /> : <StreamDetails name={name} />;
    case 'consumers': return name ? <ConsumerDetails name={name} /> : <ConsumerList />;
    case 'transformations': return name ? <TransformationDetails name={name} /> : <TransformationList />;
    case 'datasets': return name ? <DatasetDetails name={name} folder={rest.map(decodeURIComponent).join('/')} /> : <DatasetList />;
    case 'change-streams': return <ChangeStreamList />;
    case 'access': return <Access />;
    default: return <p class="empty">No such page. <a href="#/streams">Streams</a></p>;
  }
}

// A page that throws while rendering shows its error, not a blank screen.
function Boundary({ children }) {
  const [error, reset] = useErrorBoundary();
  if (error) {
    return (
      <div class="error" role="alert"><strong>This page failed</strong>: {String(error.message || error)}{' '}
        <button class="link" onClick={reset}>try again</button></div>
    );
  }
  return children;
}

function SignIn({ onDone }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const f = e.target;
    setBusy(true);
    setError(null);
    try {
      await signIn(f.key.value.trim(), f.secret.value.trim(), f.token.value.trim());
      f.secret.value = '';
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <form onSubmit={submit} aria-label="Sign in">
        <h1>Millrace</h1>
        <p>Sign in with an access key. The console exchanges it for temporary credentials
          (STS GetSessionToken) and keeps only those, for this tab's session; what you may do
          is what the key's policies allow.</p>
        <label>Access key ID <input name="key" required autocomplete="username" spellcheck={false} /></label>
        <label>Secret access key <input name="secret" type="password" required autocomplete="current-password" /></label>
        <details><summary>Temporary credentials</summary>
          <label>Session token <input name="token" autocomplete="off" /></label></details>
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={busy}>Sign in</button>
        <p class="small">The root key is in <code>&lt;data-dir&gt;/credentials</code>; more with
          <code> millrace keys create</code> or the IAM API.</p>
      </form>
    </main>
  );
}

const NAV = [['streams', 'Streams'], ['consumers', 'Consumers'], ['transformations', 'Transformations'],
             ['datasets', 'Datasets'], ['change-streams', 'Change streams'], ['access', 'Access']];

function App() {
  const [ready, setReady] = useState(false);
  const [error, setError] = useState(null);
  const [, rerender] = useState(0);
  const route = useRoute();
  useEffect(() => {
    loadSession();
    // Signed with the stored session, or unsigned: a server with --auth none answers that.
    probe().then(() => setReady(true), (e) => {
      if (e.status === 401 || e.status === 403) signOut();
      else setError(e);
      setReady(true);
    });
  }, []);
  if (!ready) return <p class="loading">Connecting…</p>;
  if (error) return <main><ErrorBox error={error} /></main>;
  if (!signedIn()) return <SignIn onDone={() => rerender((n) => n + 1)} />;
  const section = route[0] || 'streams';
  return (
    <div class="shell">
      <header>
        <a class="brand" href="#/streams">Millrace</a>
        <nav>{NAV.map(([id, label]) => <a class={section === id ? 'on' : ''} href={`#/${id}`}>{label}</a>)}</nav>
        <span class="who" title={identity.principal}>{identity.principal.split(':').pop()} · {identity.region}</span>
        {identity.auth && <button class="link" onClick={() => { signOut(); rerender((n) => n + 1); }}>Sign out</button>}
      </header>
      <main><Boundary key={route.join('/')}><Page route={route} /></Boundary></main>
    </div>
  );
}

render(<App />, document.getElementById('app'));
