// The npm packages the test and bench scripts read files with (DuckDB's @duckdb/node-api,
// hyparquet and its compressors), bundle and drive a browser with (esbuild, playwright-core)
// and speak S3 and Kinesis with (@aws-sdk/client-s3 and
// @aws-sdk/client-kinesis, the AWS SDK for JavaScript v3), installed on first use into $MILLRACE_PARQUET_DEPS
// (default /tmp/millrace-parquet-deps), outside the repository, all of them at once so that
// every script shares the directory:
//
//   import { load } from './npm_deps.mjs';
//   const { DuckDBInstance } = await load('@duckdb/node-api');
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const depsDir = process.env.MILLRACE_PARQUET_DEPS || '/tmp/millrace-parquet-deps';
const packages = [
  '@duckdb/node-api', 'hyparquet', 'hyparquet-compressors', '@aws-sdk/client-s3', '@aws-sdk/client-kinesis',
  // The browser test (tests/e2e/kinesis_browser.mjs): esbuild bundles the SDK's browser build,
  // playwright-core drives Debian's Chromium.
  'esbuild', 'playwright-core',
];

function install() {
  if (packages.every((p) => existsSync(join(depsDir, 'node_modules', p, 'package.json')))) return;
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', depsDir, ...packages], {
    stdio: ['ignore', process.stderr, process.stderr],
  });
}

// The module file a package exports for `import` under node (ESM has no resolution base to
// point elsewhere, so package.json is read).
function entry(name) {
  const dir = join(depsDir, 'node_modules', name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  let target = pkg.main || 'index.js';
  let e = pkg.exports && (pkg.exports['.'] ?? pkg.exports);
  while (e && typeof e === 'object') e = e.node ?? e.import ?? e.default;
  if (typeof e === 'string') target = e;
  return pathToFileURL(join(dir, target)).href;
}

export async function load(name) {
  if (!packages.includes(name)) throw new Error(`npm_deps.mjs does not install ${name}`);
  install();
  return import(entry(name));
}
