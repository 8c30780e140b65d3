// AWS Signature Version 4 for the console's requests (docs/console.md), with @noble/hashes'
// SHA-256 and HMAC: pure JavaScript, so the console also signs on a plain-HTTP origin other
// than localhost, where browsers withhold the Web Crypto API.
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

const enc = (v) => (typeof v === 'string' ? utf8ToBytes(v) : v);

export const sha256Hex = (data) => bytesToHex(sha256(enc(data ?? '')));

// RFC 3986 percent-encoding, as SigV4 wants it (every byte but A-Z a-z 0-9 - _ . ~).
export function uriEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

// The canonical query string of a {name: value} object.
export function canonicalQuery(query) {
  return Object.keys(query || {})
    .sort()
    .map((k) => `${uriEncode(k)}=${uriEncode(String(query[k]))}`)
    .join('&');
}

function amzDate(now) {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

// Signs a request: returns the headers to send (those given, plus x-amz-date, the session
// token, x-amz-content-sha256 for S3, and Authorization). `path` is already URI-encoded.
export function sign({ method, host, path, query, headers, body, service, region, credentials, now }) {
  const date = amzDate(now || new Date());
  const day = date.slice(0, 8);
  const payloadHash = sha256Hex(body || '');
  const h = {};
  for (const [k, v] of Object.entries(headers || {})) h[k.toLowerCase()] = String(v);
  h.host = host;
  h['x-amz-date'] = date;
  if (credentials.sessionToken) h['x-amz-security-token'] = credentials.sessionToken;
  if (service === 's3') h['x-amz-content-sha256'] = payloadHash;
  const names = Object.keys(h).sort();
  const canonical = [
    method,
    path,
    canonicalQuery(query),
    names.map((n) => `${n}:${h[n].trim().replace(/\s+/g, ' ')}\n`).join(''),
    names.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, sha256Hex(canonical)].join('\n');
  let key = hmac(sha256, enc('AWS4' + credentials.secretAccessKey), enc(day));
  for (const part of [region, service, 'aws4_request']) key = hmac(sha256, key, enc(part));
  const signature = bytesToHex(hmac(sha256, key, enc(toSign)));
  delete h.host; // the browser sends it
  h.authorization =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return h;
}
