// Reads a CSV file written by Millrace with DuckDB's read_csv (@duckdb/node-api), with the
// column types stated (no type sniffing), and prints what it saw as one JSON object, every
// non-null cell as a canonical string computed by DuckDB:
//
//   FLOAT/DOUBLE as JavaScript's String(number) ("-0" for negative zero, "NaN",
//   "Infinity"); DATE as days since 1970-01-01; TIMESTAMP and TIMESTAMP WITH TIME ZONE as
//   microseconds since the epoch; columns marked "base64" as the lowercase hex of the bytes
//   from_base64 decodes; everything else CAST(... AS VARCHAR) (JSON columns are validated by
//   DuckDB while reading, and come back as written; decimals get a 0 before a leading point,
//   which DuckDB leaves out for DECIMAL(p,p)).
//
// Usage: node read_csv.mjs SPEC.json, where the spec is
//   {"file": PATH, "delim": ",", "columns": [{"name": "a", "type": "INTEGER", "base64": false}]}
// Output: {"rows": [[...]], "types": [DuckDB's type per column], "header": [the first
// line's fields, read as text]} or {"error": "..."}.
//
// The file is read the way a user of a Millrace csv dataset should read it: header=true,
// quote and escape '"', and allow_quoted_nulls=false, without which DuckDB reads a quoted
// empty field ("") as NULL too; an unquoted empty field is NULL.
//
// DuckDB is installed on first use by npm_deps.mjs.
import { readFileSync } from 'node:fs';
import { load } from './npm_deps.mjs';

if (!process.argv[2]) {
  console.error('usage: node read_csv.mjs SPEC.json');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const literal = (s) => "'" + String(s).replaceAll("'", "''") + "'";
const quote = (name) => '"' + name.replaceAll('"', '""') + '"';
const text = (v) => {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' && Object.is(v, -0)) return '-0';
  return String(v);
};

async function read() {
  const { DuckDBInstance } = await load('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const rowsOf = async (sql) => (await conn.runAndReadAll(sql)).getRowsJS();
  const options = (header, columns) =>
    `${literal(spec.file)}, header=${header}, delim=${literal(spec.delim)}, quote='"', ` +
    `escape='"', allow_quoted_nulls=false, auto_detect=false, new_line='\\n', ` +
    `columns={${columns.map((c) => `${literal(c.name)}: ${literal(c.type)}`).join(', ')}}`;
  const src = `read_csv(${options(true, spec.columns)})`;

  const exprs = spec.columns.map(({ name, type, base64 }) => {
    const c = quote(name);
    if (base64) return `lower(hex(from_base64(${c})))`;
    if (type === 'FLOAT' || type === 'DOUBLE') return c;
    if (type === 'DATE') return `CAST(datediff('day', DATE '1970-01-01', ${c}) AS VARCHAR)`;
    if (type.startsWith('TIMESTAMP')) return `CAST(epoch_us(${c}) AS VARCHAR)`;
    return `CAST(${c} AS VARCHAR)`;
  });
  // DuckDB prints a DECIMAL(p,p) without the 0 before the point (".50000"); put it back.
  const decimal = (v, i) =>
    v !== null && spec.columns[i].type.startsWith('DECIMAL') ? v.replace(/^(-?)\./, '$10.') : v;
  const rows = (await rowsOf(`SELECT ${exprs.join(', ')} FROM ${src}`)).map((r) =>
    r.map(text).map(decimal),
  );
  const types = (await rowsOf(`DESCRIBE SELECT * FROM ${src}`)).map((r) => r[1]);
  // The header line itself, read as a row of text.
  const raw = spec.columns.map((c, i) => ({ name: `c${i}`, type: 'VARCHAR' }));
  const [header] = await rowsOf(`SELECT * FROM read_csv(${options(false, raw)}) LIMIT 1`);
  return { rows, types, header: header ? header.map(text) : [] };
}

let out;
try {
  out = await read();
} catch (e) {
  out = { error: String(e && e.stack ? e.stack : e) };
}
process.stdout.write(JSON.stringify(out) + '\n');
