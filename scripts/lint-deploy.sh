#!/usr/bin/env bash
# Checks the AWS template (deploy/template.yaml) with cfn-lint and checkov. Every suppression is
# in the template with its reason (resource Metadata: `cfn-lint: config: ignore_checks` with a
# comment, `checkov: skip: - id, comment`). Installs the linters, pinned, skipping what is there.
#
# The linters live in their own venv ($TOOLS_DIR/venv-deploy), not in the moto venv: checkov
# 3.3.30 pins boto3/botocore 1.35, which would downgrade the ones moto 5.2.5 runs with.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS_DIR="${BOXPILOT_TOOLS_DIR:-$HOME/.cache/boxpilot-tools}"
VENV="$TOOLS_DIR/venv-deploy"
CFN_LINT_VERSION=1.58.0
CHECKOV_VERSION=3.3.30
TEMPLATE=deploy/template.yaml

# sed reads pip's whole answer (`grep -q` would stop early and pipefail would see pip fail).
installed() { [ "$("$VENV/bin/pip" show "$1" 2>/dev/null | sed -n 's/^Version: //p')" = "$2" ]; }
if ! installed cfn-lint "$CFN_LINT_VERSION" || ! installed checkov "$CHECKOV_VERSION"; then
  echo "[lint-deploy] pip install cfn-lint==$CFN_LINT_VERSION checkov==$CHECKOV_VERSION into $VENV"
  [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "cfn-lint==$CFN_LINT_VERSION" "checkov==$CHECKOV_VERSION"
fi

echo "[lint-deploy] cfn-lint $TEMPLATE"
"$VENV/bin/cfn-lint" "$TEMPLATE"

echo "[lint-deploy] checkov -f $TEMPLATE --framework cloudformation"
# --skip-download: no call to the Prisma Cloud API (offline CI); the built-in checks all run.
"$VENV/bin/checkov" -f "$TEMPLATE" --framework cloudformation --skip-download --quiet --compact

# A skip without a written reason fails the build.
python3 - "$TEMPLATE" <<'PY'
import re, sys
text = open(sys.argv[1]).read().split("\n")
bad = []
for i, line in enumerate(text):
    m = re.match(r"^(\s*)- id: (CKV\w+)\s*$", line)
    if m:
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if not re.match(r"^\s+comment: \S", nxt):
            bad.append(f"line {i + 1}: {m.group(2)} skipped without a comment")
    if "ignore_checks" in line and not text[i - 1].strip().startswith("#"):
        bad.append(f"line {i + 1}: cfn-lint ignore_checks without a comment above it")
if bad:
    print("\n".join(bad))
    sys.exit(1)
PY
echo "[lint-deploy] ok"
