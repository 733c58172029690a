#!/usr/bin/env bash
# Set up and run the whole test suite: once on SQLite (everything, including the browser
# test), once on PostgreSQL (every test that touches the database).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh test
bash scripts/install-chromium.sh
bash scripts/train-classifier.sh

pg_url=${TINBAO_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}

echo "== SQLite =="
TINBAO_TEST_DATABASE_URL= .venv/bin/python -m pytest tests "$@"

if .venv/bin/python - "$pg_url" <<'PY'
import sys
import sqlalchemy
try:
    sqlalchemy.create_engine(sys.argv[1]).connect().close()
except Exception as exc:
    print(f"PostgreSQL unreachable: {exc.__class__.__name__}", file=sys.stderr)
    sys.exit(1)
PY
then
  echo "== PostgreSQL =="
  TINBAO_TEST_DATABASE_URL="$pg_url" .venv/bin/python -m pytest tests \
    --ignore=tests/e2e --ignore=tests/unit/classifier "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "CI needs PostgreSQL at $pg_url" >&2
  exit 1
else
  echo "!! PostgreSQL not reachable at $pg_url: only the SQLite run was done." >&2
fi
