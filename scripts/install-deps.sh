#!/usr/bin/env bash
# Installs the Debian packages Millrace needs to build and test, if any is missing.
# Idempotent and quiet when everything is there. Run as root (or with sudo available).
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  libssl-dev libsqlite3-dev libsimdjson-dev libtomlplusplus-dev zlib1g-dev
  libcurl4-openssl-dev libzstd-dev libsnappy-dev libzip-dev libjq-dev libpq-dev libexpat1-dev libnghttp2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-boto3 curl
  # The time zone database a dataset's time_zone (Firehose's CustomTimeZone) is read from.
  tzdata
  # An independent CBOR codec the CBOR tests check our bytes with (tests/e2e/test_cbor.py).
  python3-cbor2
  # The AWS SDK for Go v2 and Go, to build tests/e2e/go_sdk offline (tests/e2e/test_go_sdk.py).
  golang-go golang-github-aws-aws-sdk-go-v2-dev
  # S3 clients the e2e tests drive the S3 API with (tests/e2e/test_s3_clients.py).
  rclone s3cmd
  # The e2e tests read our CSV files back with PostgreSQL's COPY (tests/e2e/pg.py).
  postgresql-15 postgresql-client-15
  # Headless Chromium for the browser test (tests/e2e/test_browser.py, playwright-core).
  chromium
)
# Extras for `make fuzz` (clang's libFuzzer) and `make bench` (nginx as the HTTP ceiling).
for extra in "$@"; do
  case "$extra" in
    fuzz) pkgs+=(clang libfuzzer-14-dev libclang-rt-14-dev) ;;
    bench)
      pkgs+=(nginx-light nghttp2-client valgrind)  # nginx: the HTTP ceiling; h2load and valgrind (COUNT=): bench/protocols.py
      command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)  # the peers come from npm
      ;;
    *) echo "install-deps: unknown extra '$extra'" >&2; exit 2 ;;
  esac
done
# The AWS CLI: the machine image may ship its own; otherwise Debian's.
command -v aws >/dev/null 2>&1 || pkgs+=(awscli)
# Node and npm: the tests read our Parquet and CSV files back with DuckDB and hyparquet from
# npm (tests/parquet/npm_deps.mjs); the image may ship its own node.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)

# Transformations run as an unprivileged user of their own when the server runs as root
# (src/transform/sandbox.h); create it once.
if [ "$(id -u)" -eq 0 ] && ! getent passwd millrace-sandbox >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    --user-group millrace-sandbox
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
