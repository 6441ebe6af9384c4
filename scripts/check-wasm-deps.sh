#!/usr/bin/env bash
# Fails if the browser bundle's dependency tree holds a server-only crate.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
tree=$(cargo tree -p boxpilot-app --features csr --target wasm32-unknown-unknown -e normal --prefix none --no-dedupe | awk '{print $1}' | sort -u)
forbidden='^(axum|hyper|mio|rmqtt|redb|rumqttc|tokio-rustls|reqwest|argon2|jsonwebtoken|rsa|boxpilot|aws-.*|leptos_axum|tower-http)$'
if echo "$tree" | grep -E "$forbidden"; then
  echo "server-only crates in the wasm build (above)" >&2
  exit 1
fi
echo "wasm dependency tree: $(echo "$tree" | wc -l) crates, none server-only"
