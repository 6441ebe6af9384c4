#!/usr/bin/env bash
# Installs what boxpilot needs to build and test, skipping whatever is already there.
# Versions and flags are the ones measured in BUILD-NOTES.md; nothing is downloaded at build time.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS_DIR="${BOXPILOT_TOOLS_DIR:-$HOME/.cache/boxpilot-tools}"
TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132.0.0
PLAYWRIGHT_VERSION=1.57.0
MQTTJS_VERSION=5
COGNITO_LOCAL_VERSION=5.3.0
mkdir -p "$TOOLS_DIR"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# The wasm-bindgen CLI must match the library in Cargo.lock exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v mosquitto_pub >/dev/null || need_apt+=(mosquitto-clients)
command -v mosquitto >/dev/null && [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v brotli >/dev/null || need_apt+=(brotli)
if [ "${#need_apt[@]}" -gt 0 ]; then
  say "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

if ! trunk --version 2>/dev/null | grep -q "$TRUNK_VERSION"; then
  say "cargo install trunk $TRUNK_VERSION (about 6 minutes on 2 cores)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

WB_VERSION="$(wasm_bindgen_version)"
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WB_VERSION"; then
  say "cargo install wasm-bindgen-cli $WB_VERSION (about 3 minutes)"
  # --locked fails for this crate (a pinned dependency is missing from the registry).
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
fi

# wasm-split: trunk's post-build hook (scripts/split-console.sh) splits the console's wasm with it.
# Its binary ships in the support crate (behind a feature); 0.2.4 reads what Leptos' wasm_split_helpers
# 0.2.x write.
WASM_SPLIT_VERSION=0.2.4
# (It has no --version: cargo's install record says which version is there.)
if ! command -v wasm-split-cli >/dev/null \
  || ! grep -qs "wasm_split_cli_support $WASM_SPLIT_VERSION " "${CARGO_HOME:-$HOME/.cargo}/.crates.toml"; then
  say "cargo install wasm_split_cli_support $WASM_SPLIT_VERSION (about 1 minute)"
  cargo install wasm_split_cli_support --version "$WASM_SPLIT_VERSION" --features build-binary --locked
fi

# Debian's binaryen (wasm-opt 108) produces broken wasm; use npm's, first on PATH via scripts/env.sh.
# cognito-local: a second local Cognito, for what moto does not do (RevokeToken; see
# server/src/testing/cognito_local.rs).
npm_version() { node -p "require('$TOOLS_DIR/node_modules/$1/package.json').version" 2>/dev/null; }
if [ ! -x "$TOOLS_DIR/node_modules/.bin/wasm-opt" ] || [ ! -d "$TOOLS_DIR/node_modules/playwright-core" ] \
  || [ ! -d "$TOOLS_DIR/node_modules/mqtt" ] \
  || [ "$(npm_version cognito-local)" != "$COGNITO_LOCAL_VERSION" ]; then
  say "npm install binaryen@$BINARYEN_VERSION playwright-core@$PLAYWRIGHT_VERSION mqtt@$MQTTJS_VERSION cognito-local@$COGNITO_LOCAL_VERSION into $TOOLS_DIR"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" \
    "binaryen@$BINARYEN_VERSION" "playwright-core@$PLAYWRIGHT_VERSION" "mqtt@$MQTTJS_VERSION" \
    "cognito-local@$COGNITO_LOCAL_VERSION" >/dev/null
fi
say "tools ready in $TOOLS_DIR"

# moto server: a local AWS endpoint for the tests of the AWS adapters (`cargo test -p boxpilot
# --features aws`; scripts/moto.sh starts one by hand). In a venv, pinned, skipped when present.
MOTO_VERSION=5.2.5
if ! "$TOOLS_DIR/venv/bin/python" -c "import sys, moto; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  say "pip install moto[server]==$MOTO_VERSION into $TOOLS_DIR/venv"
  python3 -m venv "$TOOLS_DIR/venv" 2>/dev/null || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    python3 -m venv "$TOOLS_DIR/venv"
  }
  "$TOOLS_DIR/venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
say "moto $MOTO_VERSION ready: $TOOLS_DIR/venv/bin/moto_server"

# Linters of the AWS template (scripts/lint-deploy.sh): cfn-lint and checkov, pinned, in their own
# venv (checkov pins boto3/botocore 1.35, which would downgrade moto's). Skipped when present.
DEPLOY_VENV="$TOOLS_DIR/venv-deploy"
# (sed reads pip's whole answer: `grep -q` would stop early and pipefail would see pip fail.)
deploy_version() { "$DEPLOY_VENV/bin/pip" show "$1" 2>/dev/null | sed -n 's/^Version: //p'; }
if [ "$(deploy_version checkov)" != "3.3.30" ] || [ "$(deploy_version cfn-lint)" != "1.58.0" ]; then
  say "pip install cfn-lint==1.58.0 checkov==3.3.30 into $DEPLOY_VENV"
  [ -x "$DEPLOY_VENV/bin/pip" ] || python3 -m venv "$DEPLOY_VENV"
  "$DEPLOY_VENV/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==1.58.0" "checkov==3.3.30"
fi
