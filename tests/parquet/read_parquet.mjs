// Reads a Parquet file with two independent readers, DuckDB (@duckdb/node-api) and
// hyparquet (pure JavaScript; gzip and zstd through hyparquet-compressors), and prints what
// each saw as one JSON object, every non-null cell as a canonical string:
//
//   boolean "true"/"false"; integers and decimals in decimal; float/double as JavaScript's
//   String(number) (DuckDB's own text inside lists and structs); strings (json columns
//   too) as they are; binary as lowercase hex; dates as days since 1970-01-01; timestamps
//   as microseconds since the epoch (ms columns times 1000). hyparquet would turn decimals
//   into JavaScript numbers (inexact past 2^53), so it is given the footer with their
//   DECIMAL annotations taken off and its physical values are formatted here, exactly.
//
//   A list or struct cell is JSON text: an array, or an object with the struct's fields in
//   order, whose scalars are those canonical strings and whose nulls are null, e.g.
//   [["1",null],[]] or {"a":"5","b":["x",null]}.
//
// Usage: node read_parquet.mjs FILE
// The readers are installed on first use by npm_deps.mjs.
import { readFileSync } from 'node:fs';
import { load } from './npm_deps.mjs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node read_parquet.mjs FILE');
  process.exit(2);
}

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const text = (v) => {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return hex(v);
  return String(v);
};
const quote = (name) => '"' + name.replaceAll('"', '""') + '"';
const literal = (s) => "'" + s.replaceAll("'", "''") + "'";

// Parses DuckDB's type names: BIGINT, DECIMAL(9,2), TIMESTAMP WITH TIME ZONE, T[],
// STRUCT(a T, "b c" T).
function parseType(s) {
  let i = 0;
  function type() {
    let t;
    if (s.startsWith('STRUCT(', i)) {
      i += 'STRUCT('.length;
      const fields = [];
      for (;;) {
        let name = '';
        if (s[i] === '"') {
          for (i++; ; ) {
            if (s[i] === '"' && s[i + 1] === '"') {
              name += '"';
              i += 2;
            } else if (s[i] === '"') {
              i++;
              break;
            } else {
              name += s[i++];
            }
          }
        } else {
          const end = s.indexOf(' ', i);
          name = s.slice(i, end);
          i = end;
        }
        i++; // the space before the type
        fields.push({ name, type: type() });
        if (s[i] === ',') {
          i += 2; // ", "
          continue;
        }
        i++; // ')'
        break;
      }
      t = { kind: 'struct', fields };
    } else {
      let j = i;
      for (let depth = 0; j < s.length; j++) {
        if (s[j] === '(') depth++;
        else if (s[j] === ')' && depth > 0) depth--;
        else if (depth === 0 && (s[j] === '[' || s[j] === ',' || s[j] === ')')) break;
      }
      t = { kind: 'scalar', name: s.slice(i, j) };
      i = j;
    }
    while (s.startsWith('[]', i)) {
      i += 2;
      t = { kind: 'list', element: t };
    }
    return t;
  }
  return type();
}

// The SQL giving the canonical form of `x` of type `t` (a parsed type) as DuckDB values:
// scalars as VARCHAR, lists and structs rebuilt around them (to_json makes them text).
let lambdas = 0;
function canonical(t, x, nested) {
  if (t.kind === 'list') {
    const v = `v${lambdas++}`;
    return `list_transform(${x}, lambda ${v}: ${canonical(t.element, v, true)})`;
  }
  if (t.kind === 'struct') {
    const fields = t.fields.map((f) => {
      const field = `struct_extract(${x}, ${literal(f.name)})`;
      return `${quote(f.name)} := ${canonical(f.type, field, true)}`;
    });
    return `CASE WHEN ${x} IS NULL THEN NULL ELSE struct_pack(${fields.join(', ')}) END`;
  }
  const type = t.name;
  if (type === 'FLOAT' || type === 'DOUBLE') return nested ? `CAST(${x} AS VARCHAR)` : x;
  if (type === 'DATE') return `CAST(datediff('day', DATE '1970-01-01', ${x}) AS VARCHAR)`;
  if (type.startsWith('TIMESTAMP')) return `CAST(epoch_us(${x}) AS VARCHAR)`;
  if (type === 'BLOB') return `lower(hex(${x}))`;
  return `CAST(${x} AS VARCHAR)`;
}

// A reader's list or struct value as canonical JSON text.
const canonicalJson = (v) => (v === null || v === undefined ? null : JSON.stringify(v));

async function readDuckdb() {
  const { DuckDBInstance } = await load('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const path = file.replaceAll("'", "''");
  const src = `read_parquet('${path}')`;
  const rowsOf = async (sql) => (await conn.runAndReadAll(sql)).getRowsJS();
  const columns = (await rowsOf(`DESCRIBE SELECT * FROM ${src}`)).map((r) => ({
    name: r[0],
    type: r[1],
  }));
  // Canonical forms computed by DuckDB itself, so no JavaScript conversion sits between
  // (lists and structs go through to_json, and JSON.parse/stringify only respells them).
  const types = columns.map(({ type }) => parseType(type));
  const exprs = columns.map(({ name }, k) => {
    const t = types[k];
    const c = canonical(t, quote(name), false);
    return t.kind === 'scalar' ? c : `to_json(${c})`;
  });
  const rows = exprs.length
    ? (await rowsOf(`SELECT ${exprs.join(', ')} FROM ${src}`)).map((r) =>
        r.map((v, k) =>
          types[k].kind === 'scalar' ? text(v) : v === null ? null : canonicalJson(JSON.parse(v)),
        ),
      )
    : [];
  const metadata = (
    await rowsOf(
      `SELECT row_group_id, path_in_schema, num_values, compression, encodings,
              stats_min_value, stats_max_value, stats_null_count, dictionary_page_offset,
              data_page_offset
       FROM parquet_metadata('${path}') ORDER BY row_group_id, column_id`,
    )
  ).map((r) => ({
    row_group: text(r[0]),
    column: r[1],
    num_values: text(r[2]),
    compression: r[3],
    encodings: r[4],
    min: text(r[5]),
    max: text(r[6]),
    null_count: text(r[7]),
    dictionary_page_offset: text(r[8]),
    data_page_offset: text(r[9]),
  }));
  const kv = {};
  for (const r of await rowsOf(
    `SELECT decode(key), decode(value) FROM parquet_kv_metadata('${path}')`,
  ))
    kv[r[0]] = r[1];
  const [fileMeta] = await rowsOf(
    `SELECT created_by, num_rows, num_row_groups FROM parquet_file_metadata('${path}')`,
  );
  return {
    columns,
    rows,
    metadata,
    kv,
    created_by: fileMeta[0],
    num_rows: text(fileMeta[1]),
    num_row_groups: text(fileMeta[2]),
  };
}

async function readHyparquet() {
  const { parquetMetadata, parquetRead } = await load('hyparquet');
  const { compressors } = await load('hyparquet-compressors');
  const bytes = readFileSync(file);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const metadata = parquetMetadata(buffer);
  // Decimals: read as their physical values (INT32, INT64 or big-endian bytes), formatted
  // by decimalText below.
  for (const e of metadata.schema) {
    if (e.converted_type === 'DECIMAL' || e.logical_type?.type === 'DECIMAL') {
      e.decimal_scale = e.scale ?? e.logical_type?.scale ?? 0;
      delete e.converted_type;
      delete e.logical_type;
    }
  }
  // The schema tree: the root's children are the top-level columns.
  let next = 0;
  const node = () => {
    const element = metadata.schema[next++];
    const children = [];
    for (let c = 0; c < (element.num_children || 0); c++) children.push(node());
    return { element, children };
  };
  const top = node().children;
  let rows = [];
  await parquetRead({
    file: buffer,
    metadata,
    compressors,
    utf8: false, // BYTE_ARRAY without a STRING annotation stays bytes
    parsers: {
      timestampFromMilliseconds: (ms) => BigInt(ms) * 1000n,
      timestampFromMicroseconds: (us) => BigInt(us),
      timestampFromNanoseconds: (ns) => BigInt(ns) / 1000n,
      dateFromDays: (days) => days,
    },
    onComplete: (data) => {
      rows = data;
    },
  });
  // A decimal's unscaled value (a number, a BigInt or big-endian two's complement bytes)
  // in decimal with `scale` digits after the point, as DuckDB prints it ("-0.05").
  const decimalText = (v, scale) => {
    let n = 0n;
    if (v instanceof Uint8Array) {
      for (const b of v) n = n * 256n + BigInt(b);
      const bits = BigInt(v.length * 8);
      if (v.length && n >= 2n ** (bits - 1n)) n -= 2n ** bits;
    } else {
      n = BigInt(v);
    }
    const negative = n < 0n;
    let digits = (negative ? -n : n).toString();
    if (scale > 0) {
      digits = digits.padStart(scale + 1, '0');
      digits = digits.slice(0, -scale) + '.' + digits.slice(-scale);
    }
    return (negative ? '-' : '') + digits;
  };
  // Formats the decimals in `v`, a value of schema node `n`: lists are arrays of their
  // element's (the 3-level LIST's innermost node), structs objects of their fields'.
  const decimals = (v, n) => {
    if (v === null || v === undefined) return v;
    const e = n.element;
    if (e.decimal_scale !== undefined) return decimalText(v, e.decimal_scale);
    if (!n.children.length) return v;
    if (e.converted_type === 'LIST' || e.logical_type?.type === 'LIST') {
      return v.map((x) => decimals(x, n.children[0].children[0]));
    }
    const field = (k) => n.children.find((c) => c.element.name === k);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decimals(x, field(k))]));
  };
  // Lists come back as arrays and structs as objects; their scalars take the flat forms.
  const tree = (v) => {
    if (v === null || v === undefined) return null;
    if (v instanceof Uint8Array) return hex(v);
    if (Array.isArray(v)) return v.map(tree);
    if (typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tree(x)]));
    }
    return String(v);
  };
  const nested = (v) =>
    Array.isArray(v) || (typeof v === 'object' && v !== null && !(v instanceof Uint8Array));
  return {
    columns: top.map(({ element: e }) => ({ name: e.name, type: e.type ?? 'group' })),
    rows: rows.map((r) =>
      r.map((raw, k) => {
        const v = decimals(raw, top[k]);
        return nested(v) ? canonicalJson(tree(v)) : text(v);
      }),
    ),
    num_rows: String(metadata.num_rows),
    created_by: metadata.created_by,
  };
}

const out = { file };
for (const [name, read] of [
  ['duckdb', readDuckdb],
  ['hyparquet', readHyparquet],
]) {
  try {
    out[name] = await read();
  } catch (e) {
    out[name] = { error: String(e && e.stack ? e.stack : e) };
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
