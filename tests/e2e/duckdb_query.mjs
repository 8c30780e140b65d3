// Runs one SQL query with DuckDB (@duckdb/node-api) and prints its rows as a JSON array of
// objects (DuckDB's own JSON forms: BIGINT and DECIMAL as strings, timestamps as text).
// Used by the e2e tests to read the Parquet and CSV files the server wrote.
//
// Usage: node duckdb_query.mjs SQL
// DuckDB is installed on first use by tests/parquet/npm_deps.mjs.
import { load } from '../parquet/npm_deps.mjs';

const { DuckDBInstance } = await load('@duckdb/node-api');

const sql = process.argv[2];
if (!sql) {
  console.error('usage: node duckdb_query.mjs SQL');
  process.exit(2);
}
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const reader = await conn.runAndReadAll(sql);
process.stdout.write(JSON.stringify(reader.getRowObjectsJson()) + '\n');
