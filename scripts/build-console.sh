#!/usr/bin/env bash
# Builds the browser console with trunk (offline) into dist/, then writes brotli and gzip copies
# that `boxpilot serve` sends to browsers that accept them.
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
printf '[console] built dist/: wasm %s bytes, gzip -9 %s bytes, brotli %s bytes\n' \
  "$(stat -c %s "$wasm")" "$(stat -c %s "$wasm.gz")" "$(stat -c %s "$wasm.br")"
