#!/usr/bin/env bash
# Runs boxpilot's benchmarks and prints a summary (BENCHMARKS.md says what each measures and
# records the figures). Short by default (each under a minute); --long for bigger runs.
#
#   scripts/bench.sh [--long] [--only ingest,store,telemetry,broker,commands,lambda,wasm,paint]
#
# Builds once (cargo bench profile = release, with the `bench-sqlite` feature so that the
# store-choice bench compares redb with SQLite; BOXPILOT_BENCH_SQLITE=0 skips SQLite), then runs:
#   1. ingest_throughput  IngestCore -> redb, durable, batched     vs raw redb 1,000-row transactions
#   2. store_choice       redb vs SQLite (WAL, FULL and NORMAL)    writes + one box-day range read
#   3. telemetry_query    metric_series + downsample(1000)         vs bare redb range scan; + HTTP
#   4. broker_e2e         rumqttc QoS 1 -> embedded broker+store   vs mosquitto 2.0 in the same run
#   4b. command_roundtrip REST command -> box (rumqttc) -> state seen by GET, sequential, vs a bare
#                         MQTT round trip on the same broker; bulk rollout to 1,000 boxes
#   4c. lambda_start      the lambda-ingest binary: spawn -> first event handled (local Runtime
#                         API, DynamoDB on moto) and peak memory, vs `boxpilot --version`
#   5. wasm size          the first wasm module, JS glue and loader, and the modules loaded on
#                         demand: raw, gzip -9, brotli -q 11 (goal 300 KB brotli)
#   6. first paint        tests/browser/first_paint.mjs on a throttled phone profile against
#                         `boxpilot serve` (release) serving dist/
# Builds the console (scripts/build-console.sh) when dist/ is missing or has no precompressed files,
# then measures and serves a snapshot of dist/ (others may rebuild it meanwhile).
# Everything listens on 127.0.0.1 only, on free ports; what it starts it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

long=""
only="ingest,store,telemetry,broker,commands,lambda,wasm,paint"
while [ $# -gt 0 ]; do
  case "$1" in
    --long) long=1 ;;
    --only) only="$2"; shift ;;
    --only=*) only="${1#--only=}" ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
[ -n "${BOXPILOT_LONG:-}" ] && [ "${BOXPILOT_LONG}" != 0 ] && long=1
wants() { [[ ",$only," == *",$1,"* ]]; }
bench_args=()
[ -n "$long" ] && bench_args+=(--long)
# `aws`: the lambda_start bench runs the lambda-ingest binary against moto server.
features=(--features bench-sqlite,aws)
[ "${BOXPILOT_BENCH_SQLITE:-1}" = 0 ] && features=(--features aws)

out=$(mktemp -d /tmp/boxpilot-bench.XXXXXX)
echo "[bench] $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), load $(cut -d' ' -f1-3 /proc/loadavg), mode $([ -n "$long" ] && echo long || echo short); logs in $out"
echo "[bench] commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"

# One release build of everything the benches need (libs, the boxpilot binary, the benches); the
# runs below use these executables, so a change in the work tree meanwhile does not mix versions.
bin="$CARGO_TARGET_DIR/release/boxpilot"
if wants ingest || wants store || wants telemetry || wants broker || wants commands || wants lambda || wants paint; then
  echo "[bench] building (cargo bench --no-run, release profile)..."
  cargo bench -p boxpilot "${features[@]}" --bench "*" --no-run --message-format=json \
    >"$out/build.json" 2>"$out/build.log" || { tail -40 "$out/build.log" >&2; exit 1; }
fi
executable() { # target name, kind -> path of the executable just built
  python3 - "$1" "$2" "$out/build.json" <<'PY'
import json, sys
name, kind, path = sys.argv[1:]
found = [m["executable"] for m in map(json.loads, open(path))
         if m.get("reason") == "compiler-artifact" and m.get("executable")
         and m["target"]["name"] == name and kind in m["target"]["kind"]
         and (kind != "bin" or not m["profile"]["test"])]
print(found[-1] if found else "")
PY
}
[ -f "$out/build.json" ] && bin=$(executable boxpilot bin)

run_bench() { # bench name
  echo
  local exe
  exe=$(executable "$1" bench)
  [ -x "$exe" ] || { echo "[bench] $1: no executable built" >&2; return; }
  "$exe" "${bench_args[@]}" 2>"$out/$1.err" | tee "$out/$1.txt" ||
    { echo "[bench] $1 failed:" >&2; tail -20 "$out/$1.err" >&2; }
}
wants ingest && run_bench ingest_throughput
wants store && run_bench store_choice
wants telemetry && run_bench telemetry_query
wants broker && run_bench broker_e2e
wants lambda && run_bench lambda_start
wants commands && run_bench command_roundtrip

# The console: built by scripts/build-console.sh (which also writes the .br/.gz copies served).
need_console() { ! ls dist/*_bg.wasm >/dev/null 2>&1 || ! ls dist/*_bg.wasm.br >/dev/null 2>&1; }
if (wants wasm || wants paint) && need_console; then
  echo
  echo "[bench] dist/ is missing or has no precompressed files: scripts/build-console.sh (log: $out/console-build.log)"
  scripts/build-console.sh >"$out/console-build.log" 2>&1 || { tail -40 "$out/console-build.log" >&2; exit 1; }
  tail -1 "$out/console-build.log"
fi

# Measure and serve a snapshot: others may rebuild dist/ while this runs.
if wants wasm || wants paint; then
  cp -a dist "$out/dist"
fi

if wants wasm; then
  echo
  {
    # The first module runs the login, fleet and shell; the other pages' modules load on demand
    # (scripts/split-console.sh). The goal is read on what a visit loads first.
    wasm=$(ls "$out"/dist/boxpilot-console-*_bg.wasm | head -1)
    js=$(ls "$out"/dist/boxpilot-console-*.js | head -1)
    loader=$(ls "$out"/dist/__wasm_split-*.js | head -1)
    echo "== wasm size (dist/ built $(date -u -r "$wasm" '+%Y-%m-%d %H:%M UTC'), $(ls "$out"/dist/*.br 2>/dev/null | wc -l) precompressed .br files)"
    total_br=0
    for f in "$wasm" "$js" "$loader"; do
      raw=$(stat -c %s "$f"); gz=$(gzip -9 -c "$f" | wc -c); br=$(brotli -q 11 -c "$f" | wc -c)
      total_br=$((total_br + br))
      printf '%-48s raw %8d  gzip -9 %8d  brotli -q 11 %8d bytes\n' "$(basename "$f")" "$raw" "$gz" "$br"
    done
    on_demand_raw=0; on_demand_br=0; modules=0
    for f in "$out"/dist/*.wasm; do
      [ "$f" = "$wasm" ] && continue
      modules=$((modules + 1))
      on_demand_raw=$((on_demand_raw + $(stat -c %s "$f")))
      br=$(brotli -q 11 -c "$f" | wc -c)
      on_demand_br=$((on_demand_br + br))
      case "$(basename "$f")" in split_*) printf '  on demand: %-40s brotli %8d bytes (with the shared chunks it needs)\n' "$(basename "$f")" "$br" ;; esac
    done
    printf 'on demand: %d modules, raw %d, brotli %d bytes in all\n' "$modules" "$on_demand_raw" "$on_demand_br"
    wasm_br=$(brotli -q 11 -c "$wasm" | wc -c)
    goal=$((300 * 1000))
    verdict() { [ "$1" -le "$goal" ] && echo MET || echo MISSED; }
    echo "first wasm module brotli $wasm_br bytes ($(verdict "$wasm_br") the 300 KB goal); with the JS glue and split loader $total_br bytes ($(verdict "$total_br"))"
    echo "RESULT wasm wasm_raw=$(stat -c %s "$wasm") wasm_gzip=$(gzip -9 -c "$wasm" | wc -c) wasm_brotli=$wasm_br js_raw=$(stat -c %s "$js") total_brotli=$total_br on_demand_brotli=$on_demand_br goal=$goal met=$([ "$wasm_br" -le "$goal" ] && echo true || echo false)"
  } | tee "$out/wasm.txt"
fi

if wants paint; then
  echo
  data=$(mktemp -d /tmp/boxpilot-bench-serve.XXXXXX)
  http=$(scripts/free-port.sh); mqtt=$(scripts/free-port.sh); ws=$(scripts/free-port.sh)
  "$bin" serve --data-dir "$data" --static-dir "$out/dist" --http "127.0.0.1:$http" --mqtt "127.0.0.1:$mqtt" \
    --mqtt-ws "127.0.0.1:$ws" >"$out/serve.out" 2>"$out/serve.err" &
  serve=$!
  stop_serve() { kill "$serve" 2>/dev/null || true; wait "$serve" 2>/dev/null || true; rm -rf "$data"; }
  trap stop_serve EXIT
  up=""
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$http/healthz" >/dev/null 2>&1 && { up=1; break; }
    kill -0 "$serve" 2>/dev/null || break
    sleep 0.2
  done
  if [ -n "$up" ]; then
    BOXPILOT_URL="http://127.0.0.1:$http" BOXPILOT_LONG="$long" node tests/browser/first_paint.mjs 2>"$out/first_paint.err" |
      tee "$out/first_paint.txt" || { echo "[bench] first paint failed:" >&2; tail -20 "$out/first_paint.err" >&2; }
  else
    echo "[bench] boxpilot serve did not start:" >&2; tail -20 "$out/serve.err" >&2
  fi
  stop_serve
  trap - EXIT
fi

echo
echo "== summary (figures from this run; goals in BENCHMARKS.md)"
for f in ingest_throughput store_choice telemetry_query broker_e2e command_roundtrip lambda_start wasm first_paint; do
  [ -f "$out/$f.txt" ] && { grep '^RESULT ' "$out/$f.txt" | sed 's/^RESULT /  /' || echo "  $f: no result (see $out/$f.err)"; }
done
echo "[bench] full output in $out"
