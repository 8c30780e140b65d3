#!/usr/bin/env bash
# bench/run.sh: Millrace against its peers, on this machine, in one run (`make bench`).
#
# Builds loadgen and millrace, starts every target on 127.0.0.1 (Millrace with fsync on and
# throttling off; Millrace with --sync off, for a like-for-like comparison with peers that
# never fsync; nginx answering `return 200`, the HTTP ceiling; kinesalite, kinesis-local and
# moto), creates the streams, runs every scenario against every target, REPS times each,
# interleaved so that a noisy minute hurts every target alike, and prints medians and
# ratios. Then measures Millrace's memory (idle, 10,000 idle shards) and its restart time
# with a large log. Results go to bench/results/<UTC time>/ (raw.jsonl, summary.md).
#
#   bash bench/run.sh              ~15 minutes
#   QUICK=1 bash bench/run.sh      ~2-3 minutes: 2 s runs, one repetition, a 1 GB log
#
# Knobs (environment): BUILD (build dir), DURATION and WARMUP (seconds per run), REPS,
# FILL_GB (log size for the restart test; at most what leaves 20 GB free, and what can be
# written in FILL_MAX_S seconds), TARGETS (a
# subset of: millrace millrace-nosync nginx kinesalite kinesis-local moto), SKIP_BUILD=1
# (use the binaries already built).
#
# Only loopback addresses are used, and every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# The peers' scripts live beside the repository (../shared/peers), on every machine.
PEERS=${PEERS:-$ROOT/../shared/peers}
BUILD=${BUILD:-build}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  DURATION=${DURATION:-2}; WARMUP=${WARMUP:-0.5}; REPS=${REPS:-1}; FILL_GB=${FILL_GB:-1}
  PREFILL_MB=${PREFILL_MB:-64}; PEER_PREFILL_MB=${PEER_PREFILL_MB:-8}; PREFILL_MAX_S=5; FILL_MAX_S=${FILL_MAX_S:-40}
else
  DURATION=${DURATION:-5}; WARMUP=${WARMUP:-1}; REPS=${REPS:-3}; FILL_GB=${FILL_GB:-10}
  PREFILL_MB=${PREFILL_MB:-256}; PEER_PREFILL_MB=${PEER_PREFILL_MB:-32}; PREFILL_MAX_S=20; FILL_MAX_S=${FILL_MAX_S:-180}
fi
TARGETS=${TARGETS:-"millrace millrace-nosync nginx kinesalite kinesis-local moto"}
CONNECTIONS=64          # PutRecord and the 1,000-shard scenario
BATCH_CONNECTIONS=16    # PutRecords, 500 records each
SHARDS=4                # the PutRecord/PutRecords stream

declare -A PORT=([millrace]=4590 [kinesalite]=4591 [kinesis-local]=4592 [moto]=4593
                 [nginx]=4595 [millrace-nosync]=4596)
declare -A PID=()

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$ROOT/bench/results/$STAMP
WORK=$OUT/work   # data directories: on the repository's disk, removed at the end
mkdir -p "$WORK"
RAW=$OUT/raw.jsonl
EXTRA=$OUT/extra.json
LOG=$OUT/run.log
: > "$RAW"
echo '{}' > "$EXTRA"
LOADGEN=$ROOT/$BUILD/bin/loadgen
MILLRACE=$ROOT/$BUILD/bin/millrace
STARTED=$(date +%s)

say() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$LOG" >&2; }

# extra KEY JSON-VALUE: records a measurement outside the scenario table.
extra() {
  python3 - "$EXTRA" "$1" "$2" <<'PY'
import json, sys
path, key, value = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
d = json.load(open(path)); d[key] = value; json.dump(d, open(path, "w"), indent=1)
PY
}

stop_pid() {  # stop_pid PID: SIGTERM, then SIGKILL after 10 s
  local p=$1
  kill "$p" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  for t in "${!PID[@]}"; do stop_pid "${PID[$t]}"; done
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT INT TERM

port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }

rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# start_millrace NAME PORT DATA_DIR [FLAGS...]: starts Millrace, sets PID[NAME], and sets
# UP_S to the seconds from the exec to /healthz answering 200 (the HTTP listener opens
# only once recovery is done).
start_millrace() {
  local name=$1 port=$2 dir=$3
  shift 3
  local t0
  t0=$(date +%s.%N)
  "$MILLRACE" serve --data-dir "$dir" --listen "127.0.0.1:$port" --log-level warn "$@" \
    >>"$OUT/$name.log" 2>&1 &
  PID[$name]=$!
  while ! curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do
    kill -0 "${PID[$name]}" 2>/dev/null || { say "$name exited; see $OUT/$name.log"; return 1; }
    sleep 0.002
  done
  UP_S=$(since "$t0")
}

# ---- Build and machine ------------------------------------------------------------------

if [ "${SKIP_BUILD:-0}" = 1 ]; then
  say "SKIP_BUILD=1: using the binaries already in $BUILD/bin"
else
  say "building loadgen and millrace in $BUILD"
  [ -f "$BUILD/build.ninja" ] || [ -f "$BUILD/Makefile" ] || make configure BUILD="$BUILD" >>"$LOG" 2>&1
  if ! cmake --build "$BUILD" --target loadgen millrace >>"$LOG" 2>&1; then
    grep -m 5 -A 3 'error' "$LOG" >&2 || tail -20 "$LOG" >&2
    say "the build failed (see $LOG); SKIP_BUILD=1 runs the binaries already built"
    exit 1
  fi
fi
[ -x "$LOADGEN" ] && [ -x "$MILLRACE" ] || { say "no $LOADGEN or $MILLRACE"; exit 1; }
extra millrace_version "\"$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src || echo +local-changes)\""

CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
FSYNC=$(python3 - "$WORK" <<'PY'
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
PY
)
extra machine "$(python3 -c "import json,sys; print(json.dumps({'nproc': int(sys.argv[1]), 'cpu': sys.argv[2], 'fdatasync_p50_ms': float(sys.argv[3]), 'fdatasync_p99_ms': float(sys.argv[4]), 'kernel': sys.argv[5], 'duration_s': float(sys.argv[6]), 'warmup_s': float(sys.argv[7]), 'reps': int(sys.argv[8])}))" \
  "$(nproc)" "$CPU_MODEL" $FSYNC "$(uname -r)" "$DURATION" "$WARMUP" "$REPS")"
extra load_average_start "\"$(cut -d' ' -f1-3 /proc/loadavg)\""
say "machine: $(nproc) cores, $CPU_MODEL; 4 KiB append + fdatasync p50/p99 ms: $FSYNC"

AVAIL_GB=$(df -BG --output=avail "$WORK" | tail -1 | tr -dc 0-9)
MAX_FILL=$((AVAIL_GB - 20 - 2))
if [ "$FILL_GB" -gt "$MAX_FILL" ]; then FILL_GB=$((MAX_FILL > 0 ? MAX_FILL : 0)); fi
say "disk: ${AVAIL_GB} GB free; restart test log: ${FILL_GB} GB"

# ---- Targets ----------------------------------------------------------------------------

for t in $TARGETS; do
  port_free "${PORT[$t]}" || { say "port ${PORT[$t]} ($t) is in use; stop what holds it"; exit 1; }
done

has() { [[ " $TARGETS " == *" $1 "* ]]; }

if has millrace; then
  start_millrace millrace "${PORT[millrace]}" "$WORK/millrace" --throttling off --sync on
  sleep 1
  extra idle_rss_mb "$(rss_mb "${PID[millrace]}")"
  extra first_start_s "$UP_S"
  say "millrace up in ${UP_S}s, idle RSS $(rss_mb "${PID[millrace]}") MB"
fi
if has millrace-nosync; then
  start_millrace millrace-nosync "${PORT[millrace-nosync]}" "$WORK/millrace-nosync" \
    --throttling off --sync off
fi
if has nginx; then
  mkdir -p "$WORK/nginx/logs"
  cat > "$WORK/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 10000000;
  client_body_temp_path $WORK/nginx/body;
  client_max_body_size 16m;
  client_body_buffer_size 1m;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:${PORT[nginx]};
    location / {
      default_type application/x-amz-json-1.1;
      return 200 '{"ShardId":"shardId-000000000000","SequenceNumber":"49590338271490256608559692538361571095921575989136588898"}';
    }
  }
}
EOF
  nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' >>"$OUT/nginx.log" 2>&1 &
  PID[nginx]=$!
fi
if has kinesalite || has kinesis-local || has moto; then
  say "installing and starting the peers"
  bash "$PEERS"/install.sh >>"$LOG" 2>&1
  has kinesalite && PID[kinesalite]=$("$PEERS"/start.sh kinesalite "${PORT[kinesalite]}")
  # kinesis-mock allows 50 shards unless told otherwise, and logs every request at INFO.
  has kinesis-local && PID[kinesis-local]=$(SHARD_LIMIT=20000 LOG_LEVEL=WARN \
    "$PEERS"/start.sh kinesis-local "${PORT[kinesis-local]}")
  has moto && PID[moto]=$("$PEERS"/start.sh moto "${PORT[moto]}")
fi
for t in $TARGETS; do
  for _ in $(seq 100); do port_free "${PORT[$t]}" || break; sleep 0.1; done
done

# The processes whose CPU time counts as the server's (nginx: master and workers).
server_pids() {
  local p=${PID[$1]}
  local kids
  kids=$(pgrep -P "$p" | paste -sd, -)
  echo "$p${kids:+,$kids}"
}

lg() {  # lg TARGET MODE [FLAGS...]
  local t=$1 mode=$2
  shift 2
  local cred=()
  case $t in
    millrace) cred=(--credentials "$WORK/millrace") ;;
    millrace-nosync) cred=(--credentials "$WORK/millrace-nosync") ;;
  esac
  timeout 600 "$LOADGEN" "$mode" --endpoint "http://127.0.0.1:${PORT[$t]}" --label "$t" "${cred[@]}" "$@"
}

# ---- Streams ----------------------------------------------------------------------------

for t in $TARGETS; do
  [ "$t" = nginx ] && continue
  say "$t: creating streams"
  lg "$t" create-stream --stream bench --shards $SHARDS >>"$LOG" 2>&1 || say "$t: CreateStream bench failed"
  if [[ $t != millrace-nosync ]]; then
    lg "$t" create-stream --stream wide --shards 1000 >>"$LOG" 2>&1 || say "$t: CreateStream wide (1000 shards) failed"
    lg "$t" create-stream --stream read --shards 1 >>"$LOG" 2>&1 || say "$t: CreateStream read failed"
    mb=$PEER_PREFILL_MB
    [ "$t" = millrace ] && mb=$PREFILL_MB
    say "$t: writing $mb MB of 1,000-byte records to stream read (or what fits in ${PREFILL_MAX_S} s)"
    lg "$t" put-records --stream read --record-size 1000 --batch 500 --connections 4 \
      --until-bytes $((mb * 1000000)) --duration $PREFILL_MAX_S --warmup 0 \
      --json-out "$OUT/prefill.jsonl" >>"$LOG" 2>&1 || say "$t: prefill failed"
  fi
done

# ---- Scenarios --------------------------------------------------------------------------

# run_scenario NAME MODE TARGETS FLAGS...: REPS rounds, every target once per round. A
# target with an entry in RATE runs at that fixed rate (requests/s).
declare -A RATE=()
run_scenario() {
  local name=$1 mode=$2 targets=$3
  shift 3
  for rep in $(seq "$REPS"); do
    for t in $targets; do
      has "$t" || continue
      local more=()
      [ -n "${RATE[$t]:-}" ] && more=(--rate "${RATE[$t]}")
      say "$name: $t (round $rep/$REPS)${RATE[$t]:+ at ${RATE[$t]} requests/s}"
      local tmp=$OUT/last.jsonl
      rm -f "$tmp"
      if lg "$t" "$mode" --duration "$DURATION" --warmup "$WARMUP" --json-out "$tmp" \
           --server-pids "$(server_pids "$t")" "$@" "${more[@]}" >>"$LOG" 2>&1 && [ -s "$tmp" ]; then
        python3 -c "import json,sys; d=json.loads(open(sys.argv[1]).read()); d['scenario']=sys.argv[2]; d['round']=int(sys.argv[3]); print(json.dumps(d))" \
          "$tmp" "$name" "$rep" >> "$RAW"
      else
        say "$name: $t failed (see $LOG)"
      fi
    done
  done
}

median_rate() {  # median_rate SCENARIO TARGET: the median requests/s measured so far
  python3 - "$RAW" "$1" "$2" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
v = [r["requests_per_s"] for r in rows if r["scenario"] == sys.argv[2] and r["label"] == sys.argv[3]]
print(int(statistics.median(v)) if v else 0)
PY
}

ALL="millrace millrace-nosync nginx kinesalite kinesis-local moto"
KINESIS="millrace kinesalite kinesis-local moto"
run_scenario put-record put-record "$ALL" --stream bench --connections $CONNECTIONS
HALF=""
for t in $KINESIS; do
  has "$t" || continue
  half=$(( $(median_rate put-record "$t") / 2 ))
  if [ "$half" -gt 0 ]; then RATE[$t]=$half; HALF="$HALF $t"; fi
done
# nginx at Millrace's rate: the control that shows what the generator's own schedule and
# the shared cores add to a fixed-rate latency.
if has nginx && [ -n "${RATE[millrace]:-}" ]; then RATE[nginx]=${RATE[millrace]}; HALF="$HALF nginx"; fi
run_scenario put-record-half-load put-record "$HALF" --stream bench --connections $CONNECTIONS
RATE=()
run_scenario put-records put-records "$ALL" --stream bench --connections $BATCH_CONNECTIONS --batch 500
run_scenario put-record-1000-shards put-record-shards "$KINESIS" --stream wide --connections $CONNECTIONS
run_scenario get-records get-records "$KINESIS" --stream read

# The peers are done; only Millrace is measured from here on.
for t in kinesalite kinesis-local moto nginx millrace-nosync; do
  if [ -n "${PID[$t]:-}" ]; then stop_pid "${PID[$t]}"; unset "PID[$t]"; fi
done

# ---- Millrace: memory and restart -------------------------------------------------------

if has millrace; then
  stop_pid "${PID[millrace]}"; unset "PID[millrace]"
  M=$WORK/millrace-mem
  MEM_FLAGS=(--shard-limit 20000 --throttling off)
  start_millrace mem 4597 "$M" "${MEM_FLAGS[@]}"
  sleep 1
  extra fresh_idle_rss_mb "$(rss_mb "${PID[mem]}")"
  say "10 streams x 1,000 shards"
  t0=$(date +%s.%N)
  for i in $(seq 0 9); do
    timeout 600 "$LOADGEN" create-stream --endpoint http://127.0.0.1:4597 --credentials "$M" \
      --stream "idle-$i" --shards 1000 >>"$LOG" 2>&1
  done
  extra create_10k_shards_s "$(since "$t0")"
  sleep 2
  extra rss_10k_shards_mb "$(rss_mb "${PID[mem]}")"
  say "RSS with 10,000 idle shards: $(rss_mb "${PID[mem]}") MB"

  stop_pid "${PID[mem]}"; unset "PID[mem]"
  start_millrace mem 4597 "$M" "${MEM_FLAGS[@]}"
  extra restart_10k_shards_small_log_s "$UP_S"

  if [ "$FILL_GB" -gt 0 ]; then
    say "writing a ${FILL_GB} GB log, or what fits in ${FILL_MAX_S} s (PutRecords, 500 x 1,000 B, 8 connections)"
    timeout 900 "$LOADGEN" create-stream --endpoint http://127.0.0.1:4597 --credentials "$M" \
      --stream fill --shards 8 >>"$LOG" 2>&1
    timeout 1200 "$LOADGEN" put-records --endpoint http://127.0.0.1:4597 --credentials "$M" \
      --label fill --stream fill --record-size 1000 --batch 500 --connections 8 \
      --until-bytes $((FILL_GB * 1000000000)) --duration "$FILL_MAX_S" --warmup 0 \
      --server-pids "${PID[mem]}" --json-out "$OUT/fill.jsonl" >>"$LOG" 2>&1
    extra fill "$(cat "$OUT/fill.jsonl")"
    sleep 2
    extra rss_after_fill_mb "$(rss_mb "${PID[mem]}")"
    extra data_dir_gb "$(du -sB1 "$M" | awk '{printf "%.2f", $1 / 1e9}')"
    stop_pid "${PID[mem]}"; unset "PID[mem]"
    start_millrace mem 4597 "$M" "${MEM_FLAGS[@]}"
    extra restart_clean_warm_s "$UP_S"
    say "restart after a clean stop (page cache warm): ${UP_S}s"
    sleep 1
    extra rss_after_restart_mb "$(rss_mb "${PID[mem]}")"
    kill -9 "${PID[mem]}"; wait "${PID[mem]}" 2>/dev/null || true; unset "PID[mem]"
    # Drop the log from the page cache (drop_caches needs privileges we may not have).
    find "$M" -type f -print0 | xargs -0 -I{} dd if={} iflag=nocache count=0 status=none
    start_millrace mem 4597 "$M" "${MEM_FLAGS[@]}"
    extra restart_kill9_cold_s "$UP_S"
    say "restart after kill -9, log evicted from the page cache: ${UP_S}s"
    sleep 1
    extra rss_after_cold_restart_mb "$(rss_mb "${PID[mem]}")"
  fi
  stop_pid "${PID[mem]}"; unset "PID[mem]"
fi

rm -f "$OUT/last.jsonl"
extra total_s "$(( $(date +%s) - STARTED ))"
extra load_average_end "\"$(cut -d' ' -f1-3 /proc/loadavg)\""
python3 "$ROOT/bench/summarize.py" "$RAW" "$EXTRA" | tee "$OUT/summary.md"
say "results in $OUT"
