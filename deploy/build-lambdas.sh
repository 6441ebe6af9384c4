#!/usr/bin/env bash
# Builds the four Lambda entry points for the provided.al2023 runtime and packages each as a
# zip holding one executable named `bootstrap` (what deploy/template.yaml's `Code` points to):
#   deploy/build/lambda-ingest.zip, deploy/build/lambda-authorizer.zip, deploy/build/lambda-api.zip,
#   deploy/build/lambda-scheduler.zip
#
# Why static musl: Debian 12's glibc (2.36) is newer than Amazon Linux 2023's (2.34), so a binary
# linked on this machine against glibc may refuse to start on Lambda (GLIBC_2.35 not found). A
# static musl binary depends on no libc at all. The AWS crates use rustls on ring (no OpenSSL,
# no aws-lc), so nothing else needs the target's C libraries.
#
#   deploy/build-lambdas.sh                 x86_64 (default): rustup target + Debian's musl-tools
#   ARCH=arm64 deploy/build-lambdas.sh      arm64 (Graviton): cargo-lambda with zig as the linker
#                                           (pip packages cargo-lambda and ziglang, in the venv)
# Deploy with LambdaArchitecture set to the same architecture (deploy/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

ARCH="${ARCH:-x86_64}"
PROFILE="${PROFILE:-release}"
BINS=(lambda-ingest lambda-authorizer lambda-api lambda-scheduler)
OUT=deploy/build
TOOLS_DIR="${BOXPILOT_TOOLS_DIR:-$HOME/.cache/boxpilot-tools}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/boxpilot-target}"
say() { printf '\033[1m[build-lambdas]\033[0m %s\n' "$*"; }

bin_args=()
for b in "${BINS[@]}"; do bin_args+=(--bin "$b"); done

case "$ARCH" in
  x86_64)
    TARGET=x86_64-unknown-linux-musl
    rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"
    if ! command -v musl-gcc >/dev/null; then
      say "apt-get install musl-tools (ring's C and assembly parts for musl)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends musl-tools >/dev/null
    fi
    say "cargo build --profile $PROFILE --target $TARGET (${BINS[*]})"
    # musl-gcc compiles ring's C; linking stays Rust's default (its self-contained musl CRT):
    # musl-gcc as the linker would make a PIE asking for /lib/ld-musl-x86_64.so.1, absent on Lambda.
    CC_x86_64_unknown_linux_musl=musl-gcc \
      cargo build --locked --profile "$PROFILE" -p boxpilot --features aws --target "$TARGET" "${bin_args[@]}"
    ;;
  arm64)
    TARGET=aarch64-unknown-linux-musl
    VENV="$TOOLS_DIR/venv"
    if [ ! -x "$VENV/bin/cargo-lambda" ] || ! "$VENV/bin/python" -c "import ziglang" 2>/dev/null; then
      say "pip install cargo-lambda ziglang into $VENV"
      [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
      "$VENV/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==1.9.2" "ziglang==0.17.1"
    fi
    rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"
    say "cargo lambda build --arm64 (zig linker) (${BINS[*]})"
    PATH="$VENV/bin:$PATH" cargo lambda build --locked --profile "$PROFILE" --arm64 \
      --target "$TARGET" -p boxpilot --features aws "${bin_args[@]}"
    ;;
  *) echo "ARCH must be x86_64 or arm64" >&2; exit 2 ;;
esac

mkdir -p "$OUT"
for b in "${BINS[@]}"; do
  src="$CARGO_TARGET_DIR/$TARGET/$PROFILE/$b"
  [ "$PROFILE" = dev ] && src="$CARGO_TARGET_DIR/$TARGET/debug/$b"
  stage="$OUT/$b"
  rm -rf "$stage" "$OUT/$b.zip"
  mkdir -p "$stage"
  cp "$src" "$stage/bootstrap"
  chmod 0755 "$stage/bootstrap"
  # Static: no interpreter, no shared library (fails loudly if that ever changes).
  if file "$stage/bootstrap" 2>/dev/null | grep -Eq "dynamically linked|interpreter"; then
    echo "$stage/bootstrap is dynamically linked; Lambda's provided.al2023 needs a static binary" >&2
    exit 1
  fi
  # Python's zipfile keeps the executable bit (external attributes), and needs no zip tool.
  python3 - "$stage/bootstrap" "$OUT/$b.zip" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    info = zipfile.ZipInfo.from_file(src, arcname="bootstrap")
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(src, "rb") as f:
        z.writestr(info, f.read())
PY
  say "$OUT/$b.zip ($(du -k "$OUT/$b.zip" | cut -f1) KiB; bootstrap $(du -k "$stage/bootstrap" | cut -f1) KiB)"
done
