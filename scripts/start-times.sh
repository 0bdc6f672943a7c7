#!/usr/bin/env bash
# Start-up times of the compiled CLI and server (docs/cli.md, "Start-up times"), with hyperfine
# (Debian package `hyperfine`). Run from the checkout after `npm run build`:
#   scripts/start-times.sh [RUNS]      (default 10 runs each; the server start 5)
# Prints the load average before and after: on a shared machine every wall time grows with it.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
data=$(mktemp -d)
key=start-times-admin-key-0123456789
log="$data/serve.log"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$data"' EXIT

MAAS_ADMIN_KEY=$key MAAS_ZOO=off MAAS_LOG_FORMAT=json node dist/maas.js serve --port 0 --data-dir "$data/d" >"$log" 2>&1 &
server=$!
until url=$(grep -o 'maas listening on http://[0-9.:]*' "$log" | cut -d' ' -f4) && [ -n "$url" ]; do sleep 0.2; done
export MAAS_URL=$url MAAS_KEY=$key
node dist/maas.js train --family mlp --dataset xor --model x1 --epochs 1 --follow >/dev/null
node dist/maas.js predict x1 --input '{"x1": 0.1, "x2": 0.9}' >/dev/null   # loads the model once

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine --warmup 2 --runs "$runs" -N \
  'node -e 0' \
  'node bin/maas.js --help' \
  "node bin/maas.js predict x1 --input '{\"x1\": 0.1, \"x2\": 0.9}'"
kill "$server"
wait "$server" 2>/dev/null || true
hyperfine --warmup 1 --runs "$(( runs < 5 ? runs : 5 ))" -N "node scripts/serve-ready.mjs $data/d"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
