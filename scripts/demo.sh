#!/usr/bin/env bash
# Installs what is missing, builds the console and the server, and runs `boxpilot demo`:
# two simulated fleets and demo users whose passwords are printed. Extra arguments go to `demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
scripts/build-console.sh
cargo build --release -p boxpilot
exec "$CARGO_TARGET_DIR/release/boxpilot" demo --static-dir dist "$@"
