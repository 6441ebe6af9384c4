#!/usr/bin/env bash
# Builds the browser console with trunk (offline) into dist/ (trunk's post-build hook splits the
# wasm: scripts/split-console.sh), then writes brotli and gzip copies that `boxpilot serve` sends
# to browsers that accept them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
trunk build --release >/dev/null
find dist -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.svg' -o -name '*.webmanifest' \) |
  while read -r f; do
    brotli -f -q 11 -o "$f.br" "$f"
    gzip -f -9 -k "$f"
  done
wasm=$(ls dist/*_bg.wasm)
on_demand_br=$(find dist -name '*.wasm.br' ! -name '*_bg.wasm.br' -exec stat -c %s {} + | awk '{ s += $1 } END { print s + 0 }')
printf '[console] built dist/: first wasm module %s bytes, gzip -9 %s bytes, brotli %s bytes; pages loaded on demand: brotli %s bytes in all\n' \
  "$(stat -c %s "$wasm")" "$(stat -c %s "$wasm.gz")" "$(stat -c %s "$wasm.br")" "$on_demand_br"
