#!/usr/bin/env bash
# Builds the web console into a C++ source (console/build.mjs), installing its npm packages
# from package-lock.json first when they are missing or the lock file changed. Run by CMake.
# Usage: console/build.sh NPM_DIR OUT_DIR OUT_CC
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
npm_dir=$1 out_dir=$2 out_cc=$3
mkdir -p "$npm_dir"
if ! cmp -s "$here/package-lock.json" "$npm_dir/package-lock.json" || [ ! -d "$npm_dir/node_modules" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$npm_dir/"
  (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
MILLRACE_CONSOLE_NODE_MODULES="$npm_dir/node_modules" node "$here/build.mjs" "$out_dir" "$out_cc"
