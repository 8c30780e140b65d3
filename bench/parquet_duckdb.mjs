// DuckDB's side of the Parquet conversion benchmark (issue #5, bench/parquet.sh): the JSON
// lines that bench/parquet_convert converts, turned into Parquet by DuckDB on one thread,
//
//   SET threads = 1;
//   COPY (SELECT * FROM read_json('IN', format = 'newline_delimited', columns = {...}))
//     TO 'OUT' (FORMAT parquet, COMPRESSION snappy | zstd);
//
// with the column types of parquet_convert's schema (kColumns). Each run prints one JSON
// line: wall time around the COPY, the process's CPU time over it (process.cpuUsage(); with
// one DuckDB thread this is that thread, the JavaScript side waiting), the output's size
// and the peak RSS growth during it; then a line with "run":"median".
//
//   node parquet_duckdb.mjs convert --input IN --out OUT [--codec snappy] [--repeat 5]
//   node parquet_duckdb.mjs verify --input IN FILE.parquet... (a FILE may be a glob)
//
// verify computes the same aggregates (row count, sums, distinct counts, null counts) over
// the JSON lines read by DuckDB and over each Parquet file, prints them with each file's
// per-column sizes and encodings, and exits 1 unless every file agrees with the JSON.
//
// @duckdb/node-api (DuckDB's maintained Node binding) is installed on first use by
// tests/parquet/npm_deps.mjs, outside the repository.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { load } from '../tests/parquet/npm_deps.mjs';

// parquet_convert's schema in DuckDB's types (timestamp_ms is TIMESTAMP_MS: the same
// millisecond INT64 in the file).
const kColumns = {
  event_id: 'BIGINT',
  ts: 'TIMESTAMP_MS',
  user_id: 'BIGINT',
  event_type: 'VARCHAR',
  country: 'VARCHAR',
  device: 'VARCHAR',
  amount: 'DECIMAL(10,2)',
  quantity: 'INTEGER',
  ok: 'BOOLEAN',
  url: 'VARCHAR',
  referrer: 'VARCHAR',
};

const literal = (s) => "'" + String(s).replaceAll("'", "''") + "'";
const readJson = (path) =>
  `read_json(${literal(path)}, format = 'newline_delimited', columns = {${Object.entries(kColumns)
    .map(([k, t]) => `${k}: ${literal(t)}`)
    .join(', ')}})`;

function parseArgs(argv) {
  const o = { mode: argv[0], files: [], codec: 'snappy', repeat: 5 };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--input') o.input = argv[++i];
    else if (a === '--out') o.out = argv[++i];
    else if (a === '--codec') o.codec = argv[++i];
    else if (a === '--repeat') o.repeat = Number(argv[++i]);
    else if (a === '--label') o.label = argv[++i];
    else o.files.push(a);
  }
  return o;
}

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM").
function statusBytes(field) {
  const m = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) * 1024 : -1;
}

function resetPeakRss() {
  try {
    writeFileSync('/proc/self/clear_refs', '5'); // VmHWM := VmRSS (Linux 4.0+)
    return true;
  } catch {
    return false;
  }
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const n = v.length;
  return n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
};

const { DuckDBInstance, version } = await load('@duckdb/node-api');
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const rowsOf = async (sql) => (await conn.runAndReadAll(sql)).getRowsJS();
const o = parseArgs(process.argv.slice(2));

if (o.mode === 'convert') {
  if (!o.input || !o.out) throw new Error('convert needs --input and --out');
  await conn.run('SET threads = 1');
  const inputBytes = statSync(o.input).size;
  const sql = `COPY (SELECT * FROM ${readJson(o.input)}) TO ${literal(o.out)}
               (FORMAT parquet, COMPRESSION ${o.codec})`;
  const runs = [];
  for (let k = 1; k <= o.repeat; k++) {
    globalThis.gc?.();
    const peakKnown = resetPeakRss();
    const rssBefore = statusBytes('VmRSS');
    const cpu0 = process.cpuUsage();
    const wall0 = process.hrtime.bigint();
    await conn.run(sql);
    const wall = Number(process.hrtime.bigint() - wall0) / 1e9;
    const cpuUsed = process.cpuUsage(cpu0);
    const cpu = (cpuUsed.user + cpuUsed.system) / 1e6;
    const f = {
      input_bytes: inputBytes,
      output_bytes: statSync(o.out).size,
      cpu_s: cpu,
      wall_s: wall,
      mb_per_cpu_s: inputBytes / 1e6 / cpu,
      mb_per_wall_s: inputBytes / 1e6 / wall,
      rss_before_bytes: rssBefore,
    };
    if (peakKnown) f.peak_rss_growth_bytes = statusBytes('VmHWM') - rssBefore;
    runs.push(f);
    const head = { side: 'duckdb', label: o.label ?? '', codec: o.codec, run: k };
    process.stdout.write(JSON.stringify({ ...head, ...f, duckdb: version() }) + '\n');
  }
  const med = {};
  for (const key of Object.keys(runs[0])) med[key] = median(runs.map((r) => r[key]));
  const head = { side: 'duckdb', label: o.label ?? '', codec: o.codec, run: 'median' };
  process.stdout.write(JSON.stringify({ ...head, ...med, duckdb: version() }) + '\n');
} else if (o.mode === 'verify') {
  if (!o.input || o.files.length === 0) throw new Error('verify needs --input and files');
  // epoch_ms and CASTs to VARCHAR make the answers comparable whatever type each source
  // gives a column (our timestamp_ms reads as TIMESTAMP WITH TIME ZONE, DuckDB's as
  // TIMESTAMP_MS).
  const aggregates = (src) => `SELECT
      count(*) AS rows,
      CAST(sum(event_id) AS VARCHAR) AS sum_event_id,
      CAST(epoch_ms(min(ts)) AS VARCHAR) AS min_ts_ms,
      CAST(epoch_ms(max(ts)) AS VARCHAR) AS max_ts_ms,
      count(DISTINCT user_id) AS distinct_user_id,
      count(DISTINCT country) AS distinct_country,
      CAST(sum(amount) AS VARCHAR) AS sum_amount,
      count(*) FILTER (WHERE amount IS NULL) AS null_amount,
      count(*) FILTER (WHERE referrer IS NULL) AS null_referrer,
      sum(quantity) AS sum_quantity,
      count(*) FILTER (WHERE ok) AS ok_true,
      count(DISTINCT url) AS distinct_url,
      sum(length(url)) AS url_chars,
      count(DISTINCT event_type || '/' || device) AS distinct_type_device
    FROM ${src}`;
  const answer = async (src) => {
    const reader = await conn.runAndReadAll(aggregates(src));
    const names = reader.columnNames();
    const [row] = reader.getRowsJS();
    return Object.fromEntries(names.map((n, k) => [n, String(row[k])]));
  };
  const expected = await answer(readJson(o.input));
  const out = { verify: true, json: expected, files: {} };
  let allEqual = true;
  for (const file of o.files) {
    const got = await answer(`read_parquet(${literal(file)})`);
    const diff = Object.keys(expected).filter((k) => expected[k] !== got[k]);
    allEqual &&= diff.length === 0;
    const columns = (
      await rowsOf(`SELECT path_in_schema, sum(total_compressed_size), sum(total_uncompressed_size),
                          string_agg(DISTINCT encodings, ' ')
                   FROM parquet_metadata(${literal(file)})
                   GROUP BY path_in_schema ORDER BY min(column_id)`)
    ).map((r) => ({
      column: r[0],
      compressed: Number(r[1]),
      uncompressed: Number(r[2]),
      encodings: r[3],
    }));
    const [meta] = await rowsOf(
      `SELECT sum(num_rows), sum(num_row_groups), any_value(created_by), count(*)
       FROM parquet_file_metadata(${literal(file)})`,
    );
    out.files[file] = {
      equal: diff.length === 0,
      differs: diff,
      aggregates: got,
      bytes: file.includes('*') ? null : statSync(file).size, // a glob: several files
      num_rows: Number(meta[0]),
      num_row_groups: Number(meta[1]),
      created_by: meta[2],
      files: Number(meta[3]),
      columns,
    };
  }
  out.equal = allEqual;
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exitCode = allEqual ? 0 : 1;
} else {
  console.error('usage: node parquet_duckdb.mjs convert|verify --input FILE ...');
  process.exitCode = 2;
}
