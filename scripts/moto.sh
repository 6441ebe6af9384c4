#!/usr/bin/env bash
# Starts moto server (a local AWS endpoint: DynamoDB, region us-east-1) on 127.0.0.1 in the
# background and prints its port; `scripts/moto.sh stop` stops it. scripts/setup.sh installs moto.
# The Rust tests (server/tests/store_dynamodb.rs) start and stop their own; this is for trying the
# DynamoDB store by hand:
#   port=$(scripts/moto.sh) && BOXPILOT_DYNAMODB_ENDPOINT=http://127.0.0.1:$port ...; scripts/moto.sh stop
# Usage: scripts/moto.sh [start [PORT] | stop]
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS_DIR="${BOXPILOT_TOOLS_DIR:-$HOME/.cache/boxpilot-tools}"
MOTO="$TOOLS_DIR/venv/bin/moto_server"
STATE="$TOOLS_DIR/moto"
mkdir -p "$STATE"

case "${1:-start}" in
  start)
    if [ ! -x "$MOTO" ]; then
      echo "moto.sh: $MOTO not found: run scripts/setup.sh (it installs moto[server] in a venv)" >&2
      exit 1
    fi
    if [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
      echo "moto.sh: already running (pid $(cat "$STATE/pid")), port:" >&2
      cat "$STATE/port"
      exit 0
    fi
    port="${2:-$(scripts/free-port.sh)}"
    MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP=true nohup "$MOTO" -H 127.0.0.1 -p "$port" >"$STATE/log" 2>&1 &
    echo $! >"$STATE/pid"
    echo "$port" >"$STATE/port"
    for _ in $(seq 1 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "$port"
        exit 0
      fi
      kill -0 "$(cat "$STATE/pid")" 2>/dev/null || break
      sleep 0.1
    done
    echo "moto.sh: moto did not start on port $port; its log:" >&2
    cat "$STATE/log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$STATE/pid" ]; then
      kill "$(cat "$STATE/pid")" 2>/dev/null || true
      rm -f "$STATE/pid" "$STATE/port"
    fi
    ;;
  *)
    echo "usage: scripts/moto.sh [start [PORT] | stop]" >&2
    exit 2
    ;;
esac
