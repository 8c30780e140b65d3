// Access: who can read which dataset. Every IAM user and role of the account with what its
// policies let it read through the S3 API (buckets and prefixes, matched to datasets), its
// access keys, and for a role the account it trusts and the ExternalId it requires: the
// shares `millrace share` makes (docs/sharing.md) and any made by hand. Read with IAM's API
// (iam:List*, iam:Get*); nothing is changed from here.
import { control, iam } from './api.js';
import { Loading, useAsync } from './ui.jsx';

const text = (node, tag) => node.getElementsByTagName(tag)[0]?.textContent ?? '';
const members = (doc, list, tag = 'member') =>
  [...(doc.getElementsByTagName(list)[0]?.getElementsByTagName(tag) || [])];

function statements(json) {
  try {
    const doc = JSON.parse(decodeURIComponent(json));
    return [].concat(doc.Statement || []);
  } catch {
    return [];
  }
}

// What a set of policy statements lets its holder read: "bucket/prefix*" patterns of
// s3:GetObject (or s3:*, *) allowed.
function reads(stmts) {
  const out = [];
  for (const st of stmts) {
    if (st.Effect !== 'Allow') continue;
    const actions = [].concat(st.Action || []);
    if (!actions.some((a) => a === '*' || a === 's3:*' || a === 's3:GetObject' || a === 's3:Get*')) continue;
    for (const r of [].concat(st.Resource || [])) {
      if (r === '*') out.push('*');
      else if (r.startsWith('arn:aws:s3:::') && r.includes('/')) out.push(r.slice('arn:aws:s3:::'.length));
    }
  }
  return out;
}

// The datasets whose files a pattern covers, wholly or a folder of them ("exports/acme/*"
// is in dataset exports).
function datasetsOf(pattern, datasets) {
  if (pattern === '*') return ['every dataset'];
  const literal = pattern.split('*')[0];
  return datasets.filter((d) => {
    const root = `${d.bucket}/${d.prefix}`;
    return literal.startsWith(root) || root.startsWith(literal);
  }).map((d) => d.name);
}

async function inline(kind, name) {
  const list = await iam(kind === 'user' ? 'ListUserPolicies' : 'ListRolePolicies',
                         kind === 'user' ? { UserName: name } : { RoleName: name });
  const docs = [];
  for (const m of members(list, 'PolicyNames')) {
    const p = await iam(kind === 'user' ? 'GetUserPolicy' : 'GetRolePolicy',
                        kind === 'user' ? { UserName: name, PolicyName: m.textContent }
                          : { RoleName: name, PolicyName: m.textContent });
    docs.push(...statements(text(p, 'PolicyDocument')));
  }
  return docs;
}

// The statements of a managed policy (its default version), fetched once per page load.
const managedDocs = new Map();
function managedStatements(policyArn) {
  if (!managedDocs.has(policyArn)) {
    managedDocs.set(policyArn, (async () => {
      const p = await iam('GetPolicy', { PolicyArn: policyArn });
      const v = await iam('GetPolicyVersion', { PolicyArn: policyArn, VersionId: text(p, 'DefaultVersionId') });
      return statements(text(v, 'Document'));
    })().catch(() => []));
  }
  return managedDocs.get(policyArn);
}

// The managed policies attached: their names, and their statements.
async function attached(kind, name) {
  const list = await iam(kind === 'user' ? 'ListAttachedUserPolicies' : 'ListAttachedRolePolicies',
                         kind === 'user' ? { UserName: name } : { RoleName: name });
  const policies = members(list, 'AttachedPolicies');
  const stmts = (await Promise.all(policies.map((m) => managedStatements(text(m, 'PolicyArn'))))).flat();
  return { names: policies.map((m) => text(m, 'PolicyName')), stmts };
}

async function loadAccess() {
  const [users, roles, datasets] = await Promise.all([
    iam('ListUsers'), iam('ListRoles'),
    control('GET', '/datasets').then((r) => r.datasets).catch(() => []),
  ]);
  const rows = [];
  for (const u of members(users, 'Users')) {
    const name = text(u, 'UserName');
    const [stmts, managed, keys] = await Promise.all([
      inline('user', name), attached('user', name),
      iam('ListAccessKeys', { UserName: name }).then((d) => members(d, 'AccessKeyMetadata')
        .map((k) => `${text(k, 'AccessKeyId')} (${text(k, 'Status')})`)),
    ]);
    rows.push({ kind: 'user', name, arn: text(u, 'Arn'), reads: reads([...stmts, ...managed.stmts]),
                managed: managed.names, keys });
  }
  for (const r of members(roles, 'Roles')) {
    const name = text(r, 'RoleName');
    const trust = statements(text(r, 'AssumeRolePolicyDocument'));
    const principals = trust.flatMap((s) => [].concat((s.Principal && s.Principal.AWS) || []));
    const externalIds = trust.flatMap((s) => [].concat(s.Condition?.StringEquals?.['sts:ExternalId'] || []));
    const [stmts, managed] = await Promise.all([inline('role', name), attached('role', name)]);
    rows.push({ kind: 'role', name, arn: text(r, 'Arn'), reads: reads([...stmts, ...managed.stmts]),
                managed: managed.names, principals, externalIds });
  }
  for (const row of rows) row.datasets = [...new Set(row.reads.flatMap((p) => datasetsOf(p, datasets)))];
  return rows;
}

export function Access() {
  const state = useAsync(loadAccess, []);
  return (
    <section>
      <div class="title"><h1>Access</h1>
        <span class="small">Who can read which dataset: IAM users (keys) and roles (a customer's account and ExternalId),
          from their policies. Shares are made with <code>millrace share</code> (docs/sharing.md).</span></div>
      <Loading state={state}>
        {(rows) => rows.length === 0 ? <p class="empty">No IAM users or roles yet.</p> : (
          <table class="access">
            <thead><tr><th>Who</th><th>By</th><th>Reads</th><th>Datasets</th><th>Policies</th></tr></thead>
            <tbody>{rows.map((r) => (
              <tr>
                <td><strong>{r.name}</strong><div class="mono small">{r.arn}</div></td>
                <td class="small">{r.kind === 'user'
                  ? <>keys: {r.keys.length ? r.keys.map((k) => <div class="mono">{k}</div>) : 'none'}</>
                  : <>role assumed by {r.principals.map((p) => <div class="mono">{p}</div>)}
                    {r.externalIds.length > 0 && <div>ExternalId <span class="mono">{r.externalIds.join(', ')}</span></div>}</>}</td>
                <td class="mono small">{r.reads.map((p) => <div>{p === '*' ? 'every bucket' : `s3://${p}`}</div>)}</td>
                <td>{r.datasets.map((d) => d === 'every dataset' ? <span class="chip">{d}</span>
                  : <a class="chip" href={`#/datasets/${encodeURIComponent(d)}`}>{d}</a>)}</td>
                <td class="small">{r.managed.join(', ')}</td>
              </tr>))}</tbody>
          </table>
        )}
      </Loading>
    </section>
  );
}
