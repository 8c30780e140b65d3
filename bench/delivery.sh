#!/usr/bin/env bash
# bench/delivery.sh: how fast consumers deliver a stream into datasets, on this machine.
#
# Starts Millrace on 127.0.0.1 (fresh data directory, `--throttling off`, fsync on) and
# moto_server (the S3 target), fills streams with 100-byte JSON records (loadgen
# put-records --json-records), then measures, with bench/delivery.py:
#   1. one consumer from TRIM_HORIZON into a local jsonl dataset: 1 and 4 shards,
#      buffer_interval_seconds 0 and 60 (buffer_size_mib 128): time until
#      millrace_consumer_records_delivered_total reaches what the stream holds (with 60 s,
#      until the last full 128 MiB file: the rest waits for the timer), records/s, server
#      CPU per record, peak RSS; REPS rounds, the setups interleaved within a round;
#   2. the same into an S3 dataset on moto (fewer records; interval 0, and 16 MiB files);
#   3. 1, 10 and 100 consumers on one stream, each into its own local jsonl dataset: total
#      records/s, server CPU per delivered record, RSS per consumer once they are idle and
#      caught up (and again after malloc_trim(0), called in the server with gdb), the CPU
#      they use while idle, and PutRecord latency meanwhile (the server is restarted
#      before each K);
#   4. latency from PutRecord to a file holding the record being visible in the dataset's
#      directory (polled every 5 ms), buffer_interval_seconds 0 and 1.
# Prints the tables (bench/delivery.py summary) and saves everything under
# bench/results/delivery-<UTC time>/ (results.jsonl, extra.json, summary.md, logs).
#
#   bash bench/delivery.sh          ~4 minutes (after the build)
#   QUICK=1 bash bench/delivery.sh  ~1.5 minutes: 1M-record streams, fewer of everything, one round
#
# Knobs (environment): BUILD, SKIP_BUILD=1 (use the binaries in $BUILD/bin), REPS,
# N1 and N4 (records in the 1- and 4-shard streams), NS3 (records for S3), FAN (records in
# the fan-out stream), FAN_KS ("1 10 100"), LAT0 and LAT1 (latency samples at interval 0
# and 1), PERF=1 (a perf profile of the server during the first 1-shard run, into
# perf-top.txt), PORT, MOTO_PORT.
#
# Only loopback addresses are used; every process started here is stopped on exit and the
# data directory is removed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  REPS=${REPS:-1}; N1=${N1:-1000000}; N4=${N4:-1000000}; NS3=${NS3:-200000}
  FAN=${FAN:-50000}; LAT0=${LAT0:-30}; LAT1=${LAT1:-8}
else
  REPS=${REPS:-3}; N1=${N1:-4000000}; N4=${N4:-6000000}; NS3=${NS3:-1000000}
  FAN=${FAN:-300000}; LAT0=${LAT0:-100}; LAT1=${LAT1:-30}
fi
FAN_KS=${FAN_KS:-"1 10 100"}
PORT=${PORT:-4620}
MOTO_PORT=${MOTO_PORT:-4621}
RECORD=100                # bytes per record
BIG_MIB=128               # buffer_size_mib of the local runs
S3_MIB=16                 # buffer_size_mib of the second S3 run (multipart from 16 MiB)
# Records per full 128 MiB file: the buffer is checked after each read of 10,000 records.
PER_FILE=$(( ( (BIG_MIB << 20) / (RECORD + 1) / 10000 + 1) * 10000 ))

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$ROOT/bench/results/delivery-$STAMP
WORK=$OUT/work
DATA=$WORK/data
mkdir -p "$WORK"
RES=$OUT/results.jsonl
EXTRA=$OUT/extra.json
LOG=$OUT/run.log
: > "$RES"
echo '{}' > "$EXTRA"
LOADGEN=$ROOT/$BUILD/bin/loadgen
MILLRACE=$ROOT/$BUILD/bin/millrace
PY="python3 $ROOT/bench/delivery.py"
EP=http://127.0.0.1:$PORT
STARTED=$(date +%s)
declare -A PID=()

say() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$LOG" >&2; }

extra() {  # extra KEY JSON-VALUE
  python3 - "$EXTRA" "$1" "$2" <<'PYX'
import json, sys
path, key, value = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
d = json.load(open(path)); d[key] = value; json.dump(d, open(path, "w"), indent=1)
PYX
}

stop_pid() {  # SIGTERM, then SIGKILL after 10 s
  local p=$1
  kill "$p" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  for t in "${!PID[@]}"; do stop_pid "${PID[$t]}"; done
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT INT TERM

port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

start_millrace() {
  "$MILLRACE" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" --throttling off \
    --log-level warn >>"$OUT/millrace.log" 2>&1 &
  PID[millrace]=$!
  while ! curl -sf -o /dev/null "$EP/healthz"; do
    kill -0 "${PID[millrace]}" 2>/dev/null || { say "millrace exited; see $OUT/millrace.log"; return 1; }
    sleep 0.01
  done
}

restart_millrace() {
  stop_pid "${PID[millrace]}"
  unset "PID[millrace]"
  start_millrace
}

lg() {  # lg MODE [FLAGS...]
  local mode=$1
  shift
  timeout 600 "$LOADGEN" "$mode" --endpoint "$EP" --credentials "$DATA" --label millrace "$@"
}

py() {  # py SUBCOMMAND [FLAGS...]: bench/delivery.py against the running server
  local cmd=$1
  shift
  $PY "$cmd" --endpoint "$EP" --credentials "$DATA" --data-dir "$DATA" \
    --pid "${PID[millrace]}" --out "$RES" --record-size $RECORD "$@" 2>>"$LOG"
}

# ---- Build and machine ------------------------------------------------------------------

if [ "${SKIP_BUILD:-0}" = 1 ]; then
  say "SKIP_BUILD=1: using the binaries already in $BUILD/bin"
else
  say "building loadgen and millrace in $BUILD"
  [ -f "$BUILD/build.ninja" ] || [ -f "$BUILD/Makefile" ] || make configure BUILD="$BUILD" >>"$LOG" 2>&1
  if ! cmake --build "$BUILD" --target loadgen millrace >>"$LOG" 2>&1; then
    tail -20 "$LOG" >&2
    say "the build failed (see $LOG); SKIP_BUILD=1 runs the binaries already built"
    exit 1
  fi
fi
[ -x "$LOADGEN" ] && [ -x "$MILLRACE" ] || { say "no $LOADGEN or $MILLRACE"; exit 1; }
# Run copies: a rebuild in the checkout during the run (the server is restarted in step 3)
# must not change the binary under measurement.
BUILT=$(date -u -r "$MILLRACE" +%Y-%m-%dT%H:%M:%SZ)
cp "$MILLRACE" "$WORK/millrace"; cp "$LOADGEN" "$WORK/loadgen"
MILLRACE=$WORK/millrace; LOADGEN=$WORK/loadgen
"$LOADGEN" --help | grep -q -- --json-records || { say "$LOADGEN has no --json-records: rebuild it"; exit 1; }
command -v moto_server >/dev/null || { say "moto_server not found (pip install 'moto[server]')"; exit 1; }
python3 -c 'import boto3' 2>/dev/null || { say "python3 needs boto3"; exit 1; }
extra millrace_version "\"$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src || echo +local-changes), binary built $BUILT\""

CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
FSYNC=$(python3 - "$WORK" <<'PYX'
import os, sys, time
path = os.path.join(sys.argv[1], "fsync.probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
lat = []
for _ in range(200):
    os.write(fd, b"x" * 4096)
    t = time.perf_counter(); os.fdatasync(fd); lat.append(time.perf_counter() - t)
os.close(fd); os.unlink(path)
lat.sort()
print("%.2f %.2f" % (lat[len(lat) // 2] * 1e3, lat[int(len(lat) * 0.99)] * 1e3))
PYX
)
extra machine "$(python3 -c "import json,sys; print(json.dumps({'nproc': int(sys.argv[1]), 'cpu': sys.argv[2], 'fdatasync_p50_ms': float(sys.argv[3]), 'fdatasync_p99_ms': float(sys.argv[4]), 'kernel': sys.argv[5]}))" \
  "$(nproc)" "$CPU_MODEL" $FSYNC "$(uname -r)")"
extra load_average_start "\"$(cut -d' ' -f1-3 /proc/loadavg)\""
extra config "$(python3 -c "import json,sys; print(json.dumps(dict(zip(['quick','reps','n1','n4','ns3','fan','fan_ks','lat0','lat1','record_bytes'], sys.argv[1:]))))" \
  "$QUICK" "$REPS" "$N1" "$N4" "$NS3" "$FAN" "$FAN_KS" "$LAT0" "$LAT1" "$RECORD")"
say "machine: $(nproc) cores, $CPU_MODEL; fdatasync p50/p99 ms: $FSYNC; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- Servers and streams ----------------------------------------------------------------

for p in $PORT $MOTO_PORT; do
  port_free "$p" || { say "port $p is in use; set PORT / MOTO_PORT"; exit 1; }
done
start_millrace
say "millrace up (pid ${PID[millrace]}), data in $DATA"
moto_server -H 127.0.0.1 -p "$MOTO_PORT" >>"$OUT/moto.log" 2>&1 &
PID[moto]=$!

PREFILL=()
fill() {  # fill STREAM SHARDS RECORDS
  local stream=$1 shards=$2 n=$3
  lg create-stream --stream "$stream" --shards "$shards" >>"$LOG" 2>&1
  say "filling $stream ($shards shard(s)) with $n records of $RECORD bytes"
  rm -f "$WORK/fill.json"
  lg put-records --stream "$stream" --json-records --record-size $RECORD --batch 500 \
    --connections 4 --until-bytes $((n * RECORD)) --duration 0 --warmup 0 \
    --json-out "$WORK/fill.json" >>"$LOG" 2>&1
  local have
  have=$(curl -s "$EP/metrics" | awk -v s="$stream" '$1 == "millrace_stream_records_in_total{stream=\"" s "\"}" {print $2}')
  PREFILL+=("$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({'stream': sys.argv[2], 'shards': int(sys.argv[3]), 'records': int(float(sys.argv[4])), 'records_per_s': d.get('records_per_s')}))" \
    "$WORK/fill.json" "$stream" "$shards" "$have")")
}
fill one 1 "$N1"
fill four 4 "$N4"
fill s3src 1 "$NS3"
fill fan 1 "$FAN"
lg create-stream --stream lat --shards 1 >>"$LOG" 2>&1
lg create-stream --stream probe --shards 1 >>"$LOG" 2>&1
extra prefill "[$(IFS=,; echo "${PREFILL[*]}")]"
sync  # the fills' dirty pages, so that they do not land on the first measurement

# ---- 1. Local jsonl: one consumer ---------------------------------------------------------

SETUPS=("one 1 0" "one 1 60" "four 4 0" "four 4 60")
records_of() { curl -s "$EP/metrics" | awk -v s="$1" '$1 == "millrace_stream_records_in_total{stream=\"" s "\"}" {print int($2)}'; }
for rep in $(seq "$REPS"); do
  for setup in "${SETUPS[@]}"; do
    read -r stream shards interval <<<"$setup"
    if [ "$interval" -gt 0 ] && [ "$(records_of "$stream")" -lt $((shards * PER_FILE)) ]; then
      [ "$rep" = 1 ] && say "local $stream interval $interval: skipped (fewer than $PER_FILE records per shard: no full $BIG_MIB MiB file before the timer)"
      continue
    fi
    name=local-$stream-i$interval-r$rep
    say "local jsonl: $shards shard(s), interval ${interval}s, ${BIG_MIB} MiB (round $rep/$REPS)"
    if [ "${PERF:-0}" = 1 ] && [ "$rep" = 1 ] && [ "$stream" = one ] && [ "$interval" = 0 ]; then
      perf record --call-graph dwarf,16384 -F 499 -p "${PID[millrace]}" -o "$WORK/perf.data" \
        -- sleep 3 >>"$LOG" 2>&1 &
      PERF_PID=$!
    fi
    py deliver --name "$name" --label local --stream "$stream" --shards "$shards" \
      --interval "$interval" --size-mib $BIG_MIB || say "$name failed (see $LOG)"
    if [ -n "${PERF_PID:-}" ]; then
      wait "$PERF_PID" || true
      perf report -i "$WORK/perf.data" --no-children --sort sym 2>/dev/null | grep '%' | grep -v '^#' | grep -v -- '--' | head -40 > "$OUT/perf-top.txt" || true
      perf report -i "$WORK/perf.data" --children --sort sym 2>/dev/null | grep '%' | grep -v '^#' | grep -v -- '--' | head -60 > "$OUT/perf-children.txt" || true
      unset PERF_PID
    fi
    rm -rf "$DATA/datasets/$name"
  done
done

# ---- 2. S3 (moto) ---------------------------------------------------------------------------

for _ in $(seq 100); do port_free "$MOTO_PORT" || break; sleep 0.1; done
s3_target() {  # s3_target BUCKET: the dataset target, creating the bucket
  python3 - "$MOTO_PORT" "$1" <<'PYX'
import boto3, json, sys
port, bucket = sys.argv[1], sys.argv[2]
url = "http://127.0.0.1:" + port
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
s3.create_bucket(Bucket=bucket)
print(json.dumps({"type": "s3", "endpoint_url": url, "region": "us-east-1", "bucket": bucket,
                  "access_key_id": "testing", "secret_access_key": "testing"}))
PYX
}
for setup in "0 $BIG_MIB" "60 $S3_MIB"; do
  read -r interval mib <<<"$setup"
  bucket=delivery-i$interval-m$mib
  if target=$(s3_target "$bucket" 2>>"$LOG"); then
    say "S3 (moto): 1 shard, interval ${interval}s, ${mib} MiB, $NS3 records"
    py deliver --name "s3-i$interval-m$mib" --label s3 --stream s3src --shards 1 \
      --interval "$interval" --size-mib "$mib" --target "$target" --timeout 240 \
      || say "S3 interval $interval failed (see $LOG)"
  else
    say "could not create bucket $bucket on moto (see $LOG)"
  fi
done
stop_pid "${PID[moto]}"; unset "PID[moto]"

# ---- 4. Latency ---------------------------------------------------------------------------

say "latency, interval 0: $LAT0 records"
py latency --name lat-i0 --stream lat --interval 0 --samples "$LAT0" || say "latency 0 failed"
say "latency, interval 1: $LAT1 records"
py latency --name lat-i1 --stream lat --interval 1 --samples "$LAT1" || say "latency 1 failed"
rm -rf "$DATA/datasets/lat-i0" "$DATA/datasets/lat-i1"

# ---- 3. Many consumers on one stream --------------------------------------------------------

FAN_RECORDS=$(records_of fan)  # before the restarts, which start the counters again
for k in $FAN_KS; do
  restart_millrace
  sleep 1  # the idle baseline
  poll=0.01
  [ "$k" -ge 10 ] && poll=0.02
  [ "$k" -ge 50 ] && poll=0.05
  say "$k consumer(s) on stream fan ($FAN_RECORDS records each)"
  py fanout --stream fan --records "$FAN_RECORDS" --consumers "$k" --interval 0 \
    --size-mib $BIG_MIB --poll $poll --probe-stream probe --probe-rate 20 --malloc-trim \
    --timeout 400 || say "fan-out $k failed (see $LOG)"
  rm -rf "$DATA"/datasets/fan"$k"-*
done

# ---- Summary ------------------------------------------------------------------------------

extra total_s "$(( $(date +%s) - STARTED ))"
extra load_average_end "\"$(cut -d' ' -f1-3 /proc/loadavg)\""
$PY summary "$RES" "$EXTRA" | tee "$OUT/summary.md"
say "results in $OUT"
