#!/usr/bin/env bash
# Runs every test: formatting, lints (server and wasm), the wasm dependency check, unit and
# integration tests (real broker, store on disk, real MQTT peers), and the browser tests.
# BOXPILOT_LONG=1 adds the long benchmarks. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "format"
cargo fmt --all --check
# The AWS adapters (feature `aws`) are built and tested too, against moto server (scripts/setup.sh).
aws=(--features boxpilot/aws,boxpilot-tests/aws)
step "lint: server (with the AWS adapters), tests, shared code"
cargo clippy --workspace --all-targets "${aws[@]}" -- -D warnings
step "lint: browser bundle (wasm32, csr)"
cargo clippy -p boxpilot-app --features csr --target wasm32-unknown-unknown -- -D warnings
step "the browser bundle pulls no server-only crate"
scripts/check-wasm-deps.sh
step "the AWS template (cfn-lint, checkov; every skip explained)"
scripts/lint-deploy.sh
step "unit and integration tests (the DynamoDB adapter and an end-to-end run on it against moto)"
cargo test --workspace --no-fail-fast "${aws[@]}"
step "unit tests of the browser bundle's own code (csr, on the host)"
cargo test -p boxpilot-app --features csr --lib
step "console build (trunk, offline)"
scripts/build-console.sh
step "browser tests (headless Chromium, desktop and phone)"
cargo build -p boxpilot --features aws
scripts/browser-tests.sh
if [ "${BOXPILOT_LONG:-0}" = 1 ]; then
  step "benchmarks (long)"
  scripts/bench.sh
fi
