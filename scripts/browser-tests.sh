#!/usr/bin/env bash
# Starts `boxpilot demo` on free ports with a fresh data directory, and a second one signing
# people in with Cognito on moto server (`--identity cognito`, a binary built with the `aws`
# feature), runs the browser tests in headless Chromium against them (desktop and phone
# viewports), and stops them.
# Needs the console built (scripts/build-console.sh) and the debug server binary.
# BROWSER_TESTS=tests/browser/cognito.test.mjs runs one file; BOXPILOT_SCREENSHOTS=DIR keeps pages.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bin="${BOXPILOT_BIN:-$CARGO_TARGET_DIR/debug/boxpilot}"
data=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; rm -rf "$data"' EXIT

# Starts `boxpilot demo` with the given extra flags in $data/$1; waits for its demo users.
start_demo() {
  local dir="$data/$1"; shift
  mkdir -p "$dir"
  local http mqtt ws
  http=$(scripts/free-port.sh); mqtt=$(scripts/free-port.sh); ws=$(scripts/free-port.sh)
  "$bin" demo --data-dir "$dir" --static-dir dist --http "127.0.0.1:$http" --mqtt "127.0.0.1:$mqtt" \
    --mqtt-ws "127.0.0.1:$ws" --rate 2 "$@" >"$dir/demo.out" 2>"$dir/demo.err" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 150); do
    grep -q '^  demo-operator' "$dir/demo.out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/demo.err" >&2; echo "demo server ($dir) died" >&2; return 1; }
    sleep 0.2
  done
  grep -q '^  demo-operator' "$dir/demo.out" || { cat "$dir/demo.out" "$dir/demo.err" >&2; return 1; }
  echo "http://localhost:$http" >"$dir/url"
}
password_of() { awk -v u="$2" '$1 == u {print $2}' "$data/$1/demo.out"; }

start_demo builtin
export BOXPILOT_URL BOXPILOT_USER=demo-operator BOXPILOT_ADMIN_USER=demo-admin
BOXPILOT_URL=$(cat "$data/builtin/url")
export BOXPILOT_PASSWORD BOXPILOT_ADMIN_PASSWORD
BOXPILOT_PASSWORD=$(password_of builtin demo-operator)
BOXPILOT_ADMIN_PASSWORD=$(password_of builtin demo-admin)
[ -n "$BOXPILOT_PASSWORD" ] && [ -n "$BOXPILOT_ADMIN_PASSWORD" ] || { echo "no demo password printed" >&2; exit 1; }

# The same console on Cognito (moto server with TOTP checks, a pool created at start).
moto="${BOXPILOT_TOOLS_DIR:-$HOME/.cache/boxpilot-tools}/venv/bin/moto_server"
[ -x "$moto" ] || { echo "moto server not found at $moto: run scripts/setup.sh" >&2; exit 1; }
moto_port=$(scripts/free-port.sh)
MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP=true "$moto" -H 127.0.0.1 -p "$moto_port" >"$data/moto.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$moto_port") 2>/dev/null && break; sleep 0.1; done
start_demo cognito --identity cognito --cognito-endpoint "http://127.0.0.1:$moto_port"
export BOXPILOT_COGNITO_URL BOXPILOT_COGNITO_OPERATOR_PASSWORD BOXPILOT_COGNITO_VIEWER_PASSWORD
BOXPILOT_COGNITO_URL=$(cat "$data/cognito/url")
BOXPILOT_COGNITO_OPERATOR_PASSWORD=$(password_of cognito demo-operator)
BOXPILOT_COGNITO_VIEWER_PASSWORD=$(password_of cognito demo-viewer)

node --test --test-reporter=spec ${BROWSER_TESTS:-tests/browser/}
