# Sourced by the scripts: tools first on PATH, a cargo target folder outside the clone (reused
# between runs and clones), and the npm tools folder.
export BOXPILOT_TOOLS_DIR="${BOXPILOT_TOOLS_DIR:-$HOME/.cache/boxpilot-tools}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/boxpilot-target}"
export PATH="$BOXPILOT_TOOLS_DIR/node_modules/.bin:$HOME/.cargo/bin:$PATH"
