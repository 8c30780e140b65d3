// Runs one SQL query with DuckDB (@duckdb/node-api) and prints its rows as a JSON array of
// objects (DuckDB's own JSON forms: BIGINT and DECIMAL as strings, timestamps as text).
// Used by the e2e tests to read the Parquet and CSV files the server wrote.
//
// Usage: node duckdb_query.mjs SQL
// Installs @duckdb/node-api on first use into $MILLRACE_PARQUET_DEPS (default
// /tmp/millrace-parquet-deps), the directory tests/parquet/read_parquet.mjs uses.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const deps = process.env.MILLRACE_PARQUET_DEPS || '/tmp/millrace-parquet-deps';
const pkg = '@duckdb/node-api';
if (!existsSync(join(deps, 'node_modules', pkg, 'package.json'))) {
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', deps, pkg], {
    stdio: ['ignore', process.stderr, process.stderr],
  });
}
const dir = join(deps, 'node_modules', pkg);
const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
let target = meta.main || 'index.js';
let e = meta.exports && (meta.exports['.'] ?? meta.exports);
while (e && typeof e === 'object') e = e.node ?? e.import ?? e.default;
if (typeof e === 'string') target = e;
const { DuckDBInstance } = await import(pathToFileURL(join(dir, target)).href);

const sql = process.argv[2];
if (!sql) {
  console.error('usage: node duckdb_query.mjs SQL');
  process.exit(2);
}
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const reader = await conn.runAndReadAll(sql);
process.stdout.write(JSON.stringify(reader.getRowObjectsJson()) + '\n');
