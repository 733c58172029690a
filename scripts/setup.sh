#!/usr/bin/env bash
# Create ./.venv and install tinbao into it. Usage: scripts/setup.sh [EXTRAS]
#   scripts/setup.sh        → the portal
#   scripts/setup.sh classifier → the portal and the default classifier (what `make run` uses)
#   scripts/setup.sh test   → the portal, the classifier with its encoder, and the test tools
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "tinbao needs Python 3.11 or newer ($python is $("$python" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
extras=${1:-}
.venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
bash scripts/translations.sh compile
mkdir -p instance
