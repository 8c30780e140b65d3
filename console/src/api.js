// The console's clients of the public APIs (docs/console.md): Kinesis (JSON 1.1), the
// control API (/api/v1), S3 and STS, each request signed with the session's temporary
// credentials. Nothing here is private to the console: a script with the same key could
// make every one of these calls.
import { canonicalQuery, sign, uriEncode } from './sigv4.js';

const STORE = 'millrace-console-session';

// The signed-in session: temporary credentials from sts:GetSessionToken (the key's secret
// itself is never stored), or `null` on a server that runs with --auth none.
let session = null;
export let identity = { principal: '', account: '000000000000', region: 'us-east-1', auth: true };

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || `HTTP ${status}`;
  }
}

export function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORE) || 'null');
    if (s && s.expiration && Date.parse(s.expiration) > Date.now() + 60000) session = s;
  } catch {
    session = null;
  }
  return session;
}

export function signOut() {
  session = null;
  sessionStorage.removeItem(STORE);
}

export const currentSession = () => session;

export const signedIn = () => session !== null || !identity.auth;

async function send(service, { method = 'GET', path = '/', query, headers = {}, body, region }) {
  const host = location.host;
  let h = { ...headers };
  if (session) {
    h = sign({ method, host, path, query, headers: h, body, service,
               region: region || identity.region, credentials: session });
  }
  const qs = canonicalQuery(query);
  const res = await fetch(path + (qs ? '?' + qs : ''), { method, headers: h, body });
  return res;
}

async function jsonError(res) {
  const text = await res.text();
  let code = '';
  let message = text.slice(0, 2000);
  try {
    const j = JSON.parse(text);
    if (j.error) ({ code, message } = j.error);
    else {
      code = (j.__type || '').split('#').pop();
      message = j.message || j.Message || code;
    }
  } catch {
    const m = /<Code>([^<]*)<\/Code>[\s\S]*?<Message>([^<]*)<\/Message>/.exec(text);
    if (m) [, code, message] = m;
  }
  return new ApiError(res.status, code, message);
}

// Kinesis: kinesis('ListStreams', {...}) -> the answer's object.
export async function kinesis(action, params = {}) {
  const res = await send('kinesis', {
    method: 'POST', path: '/', body: JSON.stringify(params),
    headers: { 'content-type': 'application/x-amz-json-1.1',
               'x-amz-target': `Kinesis_20131202.${action}` },
  });
  if (!res.ok) throw await jsonError(res);
  const text = await res.text(); // CreateStream, DeleteStream, ... answer an empty body
  return text ? JSON.parse(text) : {};
}

// The control API: control('GET', '/consumers') -> the answer's object.
export async function control(method, path, body) {
  const [p, qs] = path.split('?');
  const query = qs ? Object.fromEntries(new URLSearchParams(qs)) : undefined;
  const res = await send('millrace', {
    method, path: '/api/v1' + p, query, body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  });
  if (!res.ok) throw await jsonError(res);
  return res.json();
}

// S3: s3Get('/bucket', {'list-type': 2}) -> the Response (XML or bytes).
export async function s3Get(path, query, headers) {
  const res = await send('s3', { method: 'GET', path, query, headers });
  if (!res.ok && res.status !== 206) throw await jsonError(res);
  return res;
}

export const keyPath = (bucket, key) =>
  '/' + uriEncode(bucket) + '/' + key.split('/').map(uriEncode).join('/');

// Lists every object under a prefix with ListObjectsV2 (at most `limit`).
export async function listObjects(bucket, prefix, { delimiter, limit = 1000 } = {}) {
  const objects = [];
  const prefixes = [];
  let token;
  do {
    const q = { 'list-type': 2, prefix, 'max-keys': 1000 };
    if (delimiter) q.delimiter = delimiter;
    if (token) q['continuation-token'] = token;
    const xml = new DOMParser().parseFromString(
      await (await s3Get('/' + uriEncode(bucket), q)).text(), 'application/xml');
    for (const c of xml.getElementsByTagName('Contents')) {
      const get = (n) => c.getElementsByTagName(n)[0]?.textContent ?? '';
      objects.push({ key: get('Key'), size: Number(get('Size')), modified: get('LastModified') });
    }
    for (const p of xml.getElementsByTagName('CommonPrefixes'))
      prefixes.push(p.getElementsByTagName('Prefix')[0].textContent);
    token = xml.getElementsByTagName('NextContinuationToken')[0]?.textContent;
  } while (token && objects.length < limit);
  return { objects, prefixes };
}

// IAM's query API: iam('ListUsers', {...}) -> the answer's XML document.
export async function iam(action, params = {}) {
  const body = new URLSearchParams({ Action: action, Version: '2010-05-08', ...params }).toString();
  const res = await send('iam', {
    method: 'POST', path: '/', body,
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
  });
  if (!res.ok) throw await jsonError(res);
  return new DOMParser().parseFromString(await res.text(), 'application/xml');
}

// Which of `checks` ([{action, resource}]) the signed-in key may do.
export async function permissions(checks) {
  const res = await send('millrace', {
    method: 'POST', path: '/api/v1/permissions', body: JSON.stringify({ checks }),
    headers: { 'content-type': 'application/json' },
  });
  if (!res.ok) throw await jsonError(res);
  return res.json();
}

// Asks the server who we are; on a server without authentication this works unsigned.
export async function probe() {
  const who = await permissions([]);
  identity = { principal: who.principal, account: who.account, region: who.region,
               auth: session !== null || !who.principal.startsWith('anonymous') };
  return who;
}

// Signs in: exchanges the access key for temporary credentials (sts:GetSessionToken, 12
// hours); temporary credentials given directly are used as they are.
export async function signIn(accessKeyId, secretAccessKey, sessionToken) {
  session = { accessKeyId, secretAccessKey, sessionToken: sessionToken || undefined };
  try {
    if (!sessionToken) {
      const body = 'Action=GetSessionToken&Version=2011-06-15&DurationSeconds=43200';
      const res = await send('sts', {
        method: 'POST', path: '/', body,
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      });
      if (!res.ok) throw await jsonError(res);
      const xml = new DOMParser().parseFromString(await res.text(), 'application/xml');
      const get = (n) => xml.getElementsByTagName(n)[0]?.textContent;
      session = { accessKeyId: get('AccessKeyId'), secretAccessKey: get('SecretAccessKey'),
                  sessionToken: get('SessionToken'), expiration: get('Expiration') };
    } else {
      session.expiration = new Date(Date.now() + 3600e3).toISOString();
    }
    await probe();
    sessionStorage.setItem(STORE, JSON.stringify(session));
  } catch (e) {
    session = null;
    throw e;
  }
}

export const arn = (service, kind, name) =>
  `arn:aws:${service}:${identity.region}:${identity.account}:${kind}/${name}`;
