#!/usr/bin/env bash
# trunk post-build hook (Trunk.toml): splits the console's wasm so that the first module holds the
# login, fleet and shell code only, and the pages of app/src/ui/lazy_pages.rs are fetched when a
# route first needs them (BENCHMARKS.md, section 5).
#
# trunk cannot run wasm-split itself, so this redoes its last steps on cargo's output:
#   wasm-split (needs `-Clink-args=--emit-relocs`, .cargo/config.toml)
#   -> wasm-bindgen on the main module (--keep-lld-exports: the split modules link to its exports)
#   -> wasm-opt on every module (release)
# and replaces trunk's unsplit files in the staging folder. All output names carry one content
# hash of every file they make up, so `boxpilot serve` can cache them for good.
set -euo pipefail
cd "$(dirname "$0")/.."

staging="${TRUNK_STAGING_DIR:?run by trunk as a post_build hook (Trunk.toml)}"
profile="${TRUNK_PROFILE:-release}"
target_dir="${CARGO_TARGET_DIR:-target}"
case "$profile" in
  release) raw="$target_dir/wasm32-unknown-unknown/wasm-release/boxpilot-console.wasm" ;;
  *) raw="$target_dir/wasm32-unknown-unknown/debug/boxpilot-console.wasm" ;;
esac
[ -f "$raw" ] || { echo "split-console: $raw not found (cargo's output for profile $profile)" >&2; exit 1; }
command -v wasm-split-cli >/dev/null || {
  echo "split-console: wasm-split-cli is missing: run scripts/setup.sh" >&2
  exit 1
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Stands for the content hash until every file is made; as long as the hash, since wasm-bindgen
# writes the output name into the main module's import names too (replaced in place there).
placeholder=PLACEHOLDER16CHR
name="boxpilot-console-$placeholder"

wasm-split-cli --target web --out-name "$name" "$raw" "$work/split" >/dev/null
wasm-bindgen --target web --keep-lld-exports --no-demangle --no-typescript \
  --out-name "$name" --out-dir "$work/out" "$work/split/$name.wasm"
rm "$work/split/$name.wasm"
mv "$work/split/"*.wasm "$work/split/__wasm_split.js" "$work/out/"
if [ "$profile" = release ]; then
  for module in "$work/out/"*.wasm; do
    wasm-opt -Oz --strip-debug --strip-producers "$module" -o "$module" 2>/dev/null
  done
fi

# The glue imports the loader as './__wasm_split.js' (the main module's import name, kept as the
# key of its imports); the loader fetches './chunk_N.wasm' and './split_*.wasm' and imports the glue.
id="$(cat "$work/out/"* | sha256sum | cut -c1-16)"
cd "$work/out"
sed -i "s#from \"./__wasm_split.js\"#from \"./__wasm_split-$placeholder.js\"#g" "$name.js"
grep -q "__wasm_split-$placeholder.js" "$name.js" || {
  echo "split-console: the wasm-bindgen glue does not import ./__wasm_split.js: is any page lazy?" >&2
  exit 1
}
mv __wasm_split.js "__wasm_split-$placeholder.js"
for module in chunk_*.wasm split_*.wasm; do
  [ -e "$module" ] || continue
  stem="${module%.wasm}"
  sed -i "s#\"./$stem.wasm\"#\"./$stem-$placeholder.wasm\"#" "__wasm_split-$placeholder.js"
  mv "$module" "$stem-$placeholder.wasm"
done
for file in *; do
  python3 -c 'import sys; p, old, new = sys.argv[1:]; b = open(p, "rb").read(); open(p, "wb").write(b.replace(old.encode(), new.encode()))' \
    "$file" "$placeholder" "$id"
  mv "$file" "${file//$placeholder/$id}"
done
cd - >/dev/null

# Swap trunk's unsplit glue and wasm for these, in index.html too (names and integrity hashes).
index="$staging/index.html"
old_js="$(basename "$(ls "$staging"/boxpilot-console-*.js)")"
old_wasm="$(basename "$(ls "$staging"/boxpilot-console-*_bg.wasm)")"
rm "$staging/$old_js" "$staging/$old_wasm"
cp "$work/out/"* "$staging/"
new_js="boxpilot-console-$id.js"
new_wasm="boxpilot-console-${id}_bg.wasm"
sri() { printf 'sha384-%s' "$(openssl dgst -sha384 -binary "$staging/$1" | base64 -w0)"; }
python3 - "$index" "$old_js" "$new_js" "$(sri "$new_js")" "$old_wasm" "$new_wasm" "$(sri "$new_wasm")" <<'EOF'
import re, sys
index, old_js, new_js, js_sri, old_wasm, new_wasm, wasm_sri = sys.argv[1:]
html = open(index).read()
for old, new, sri in ((old_js, new_js, js_sri), (old_wasm, new_wasm, wasm_sri)):
    if old not in html:
        sys.exit(f"split-console: {old} is not in index.html")
    # the preload link's integrity attribute follows its href
    html = re.sub(r'(href="/' + re.escape(old) + r'"[^>]*integrity=")[^"]*', lambda m: m.group(1) + sri, html)
    html = html.replace(old, new)
open(index, "w").write(html)
EOF
printf '[console] split: first module %s bytes, %s modules loaded on demand\n' \
  "$(stat -c %s "$staging/$new_wasm")" "$(ls "$staging" | grep -c -- "-$id.wasm$" || true)"
