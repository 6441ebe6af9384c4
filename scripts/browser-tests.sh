#!/usr/bin/env bash
# Starts `boxpilot demo` on free ports with a fresh data directory, runs the browser tests in
# headless Chromium against it (desktop and phone viewports), and stops it.
# Needs the console built (scripts/build-console.sh) and the debug server binary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bin="${BOXPILOT_BIN:-$CARGO_TARGET_DIR/debug/boxpilot}"
data=$(mktemp -d)
http=$(scripts/free-port.sh); mqtt=$(scripts/free-port.sh); ws=$(scripts/free-port.sh)
"$bin" demo --data-dir "$data" --static-dir dist --http "127.0.0.1:$http" --mqtt "127.0.0.1:$mqtt" \
  --mqtt-ws "127.0.0.1:$ws" --rate 2 >"$data/demo.out" 2>"$data/demo.err" &
demo=$!
trap 'kill $demo 2>/dev/null; wait $demo 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  grep -q '^  demo-operator' "$data/demo.out" 2>/dev/null && break
  kill -0 $demo 2>/dev/null || { cat "$data/demo.err" >&2; echo "demo server died" >&2; exit 1; }
  sleep 0.2
done
password=$(awk '/^  demo-operator/ {print $2}' "$data/demo.out")
admin_password=$(awk '/^  demo-admin/ {print $2}' "$data/demo.out")
[ -n "$password" ] && [ -n "$admin_password" ] || { echo "no demo password printed" >&2; cat "$data/demo.out" >&2; exit 1; }
BOXPILOT_URL="http://localhost:$http" BOXPILOT_USER=demo-operator BOXPILOT_PASSWORD="$password" \
  BOXPILOT_ADMIN_USER=demo-admin BOXPILOT_ADMIN_PASSWORD="$admin_password" \
  node --test --test-reporter=spec tests/browser/
