#!/usr/bin/env bash
# The production topology on this machine (`make run-prod`; docs/deployment.md):
#   nginx (TLS, https://127.0.0.1:8443)  →  gunicorn, several workers (127.0.0.1:8001)
#   →  PostgreSQL 127.0.0.1:5432 (database tinbao_prod)  +  Redis 127.0.0.1:6379 db 7
#   (rate-limit counters and the job queue)  +  `flask jobs worker` (idle priority).
# The same nginx file and gunicorn settings as a real server (deploy/), with loopback ports,
# a self-signed certificate and everything under instance/prod/. Ctrl-C stops it all.
#
# Settings live in instance/tinbao-prod.env (git-ignored, mode 0600, written on the first run
# with a new TINBAO_SECRET_KEY); edit it to change the database, Redis, workers. The first run
# creates the encryption keys in instance/prod/keys (TINBAO_KEYS_GENERATE=1); later runs start
# with TINBAO_KEYS_GENERATE=0, so missing keys stop the portal instead of being made anew.
# Without nginx (and when it cannot be installed) gunicorn is served directly; TINBAO_PROD_PROXY=0
# skips the proxy on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
prod=$root/instance/prod
env_file=$root/instance/tinbao-prod.env
web_port=${TINBAO_PROD_WEB_PORT:-8001}
https_port=${TINBAO_PROD_HTTPS_PORT:-8443}
http_port=${TINBAO_PROD_HTTP_PORT:-8080}
pg_admin=${TINBAO_PROD_PG_ADMIN:-postgresql://postgres@127.0.0.1:5432/postgres}

bash scripts/setup.sh classifier
bash scripts/train-classifier.sh
mkdir -p "$prod"
chmod 0700 "$prod"

if [ ! -f "$env_file" ]; then
  umask 077
  cat >"$env_file" <<EOF
# tinbao production settings for \`make run-prod\` on this machine (scripts/run-prod.sh).
# Generated on $(date -u +%F); holds the secret key: never commit it (instance/ is git-ignored).
TINBAO_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tinbao_prod
TINBAO_REDIS_URL=redis://127.0.0.1:6379/7
TINBAO_JOBS_MODE=rq
TINBAO_SECRET_KEY=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(32))')
TINBAO_KEYS_FOLDER=$prod/keys
TINBAO_UPLOAD_FOLDER=$prod/uploads
TINBAO_NOTIFY_OUTBOX=$prod/outbox
TINBAO_WORKERS=4
TINBAO_JOB_WORKERS=1
EOF
  umask 022
  echo "run-prod: wrote $env_file (a new secret key; keep it with the keys)"
fi
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a
if [ -z "${TINBAO_KEYS_GENERATE:-}" ]; then
  if [ -f "$TINBAO_KEYS_FOLDER/content.key" ]; then
    export TINBAO_KEYS_GENERATE=0
  else
    export TINBAO_KEYS_GENERATE=1
    echo "run-prod: first run, creating the encryption keys in $TINBAO_KEYS_FOLDER (back them up)"
  fi
fi

# The services must be there: PostgreSQL and Redis are never started or stopped by this script.
.venv/bin/python - "$pg_admin" "$TINBAO_DATABASE_URL" "$TINBAO_REDIS_URL" <<'PY'
import sys
from urllib.parse import urlsplit

import psycopg
import redis
from psycopg import sql

admin, url, redis_url = sys.argv[1:]
try:
    redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
except redis.RedisError as exc:
    sys.exit(f"run-prod: Redis does not answer at {redis_url} ({type(exc).__name__})")
name = urlsplit(url).path.lstrip("/")
try:
    with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            print(f"run-prod: PostgreSQL database {name} exists")
        else:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"run-prod: created the PostgreSQL database {name}")
except psycopg.OperationalError as exc:
    sys.exit(f"run-prod: PostgreSQL does not answer at {admin} ({type(exc).__name__})")
PY

for port in "$web_port" "$https_port" "$http_port"; do
  if ! .venv/bin/python -c 'import socket, sys; socket.create_server(("127.0.0.1", int(sys.argv[1]))).close()' "$port" 2>/dev/null; then
    echo "run-prod: port $port on 127.0.0.1 is taken (set TINBAO_PROD_*_PORT)" >&2
    exit 1
  fi
done

flask=(.venv/bin/flask --app portal)
"${flask[@]}" db upgrade heads
"${flask[@]}" seed --no-demo-users
# The demo staff accounts of `flask seed`, with their logins kept in instance/prod/ rather than
# in instance/demo-logins.txt (which belongs to `make run`'s database).
.venv/bin/python - "$prod/demo-logins.txt" <<'PY'
import os
import secrets
import sys
from pathlib import Path

from sqlalchemy import select

from portal import create_app
from portal.accounts.models import User
from portal.accounts.services import create_user
from portal.agencies.models import Agency
from portal.cli import DEMO_USERS
from portal.extensions import db

path = Path(sys.argv[1])
known = dict(line.split(" ", 1) for line in path.read_text().splitlines()) if path.exists() else {}
with create_app().app_context():
    for username, role, agency_code, name in DEMO_USERS:
        if db.session.scalar(select(User).where(User.username == username)):
            continue
        agency = (db.session.scalar(select(Agency).where(Agency.code == agency_code))
                  if agency_code else None)
        known[username] = secrets.token_urlsafe(12)
        create_user(username, known[username], role, display_name=name, agency=agency)
    db.session.commit()
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as handle:
    handle.writelines(f"{user} {password}\n" for user, password in known.items())
PY
export TINBAO_KEYS_GENERATE=0  # the keys exist now

# nginx: Debian's package when it can be had (as for the browser test's chromium).
proxy=${TINBAO_PROD_PROXY:-1}
if [ "$proxy" = 1 ] && ! command -v nginx >/dev/null; then
  if [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null; then
    sudo=$([ "$(id -u)" -eq 0 ] || echo sudo)
    echo "run-prod: installing Debian's nginx…"
    if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
           $sudo apt-get install -y -qq nginx >/dev/null; }; then
      echo "run-prod: nginx could not be installed" >&2
    fi
  fi
fi
if [ "$proxy" = 1 ] && ! command -v nginx >/dev/null; then
  echo "run-prod: no nginx on this machine: serving gunicorn directly, without TLS" \
       "(deploy/nginx/tinbao.conf is the proxy configuration for a real server)" >&2
  proxy=0
fi

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "run-prod: stopping…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

if [ "$proxy" = 1 ]; then
  ngx=$prod/nginx
  mkdir -p "$ngx/log" "$ngx/tls" "$ngx/tmp"
  if [ ! -f "$ngx/tls/privkey.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=127.0.0.1" \
      -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      -keyout "$ngx/tls/privkey.pem" -out "$ngx/tls/fullchain.pem" 2>/dev/null
    chmod 0600 "$ngx/tls/privkey.pem"
  fi
  # deploy/nginx/tinbao.conf with loopback ports and this folder's paths; nothing else changes.
  sed -e "s#listen 443 ssl http2;#listen 127.0.0.1:$https_port ssl http2;#" \
      -e "s#listen 80;#listen 127.0.0.1:$http_port;#" \
      -e '/listen \[::\]:/d' \
      -e "s#return 301 https://\$host\$request_uri;#return 301 https://\$host:$https_port\$request_uri;#" \
      -e "s#server 127.0.0.1:8001;#server 127.0.0.1:$web_port;#" \
      -e "s#/etc/tinbao/tls/#$ngx/tls/#g" \
      -e "s#/var/log/nginx/#$ngx/log/#g" \
      -e "s#^pid /run/nginx.pid;#pid $ngx/nginx.pid;#" \
      -e "s#^http {#http {\n    client_body_temp_path $ngx/tmp/body;\n    proxy_temp_path $ngx/tmp/proxy;\n    fastcgi_temp_path $ngx/tmp/fastcgi;\n    uwsgi_temp_path $ngx/tmp/uwsgi;\n    scgi_temp_path $ngx/tmp/scgi;#" \
      -e "$([ "$(id -u)" -eq 0 ] || echo '/^user /d')" \
      deploy/nginx/tinbao.conf >"$ngx/nginx.conf"
  nginx -t -q -c "$ngx/nginx.conf" -e "$ngx/log/error.log"
  web_env=(TINBAO_PROXY_HOPS=1 TINBAO_COOKIE_SECURE=1 TINBAO_FORCE_HTTPS=1
           "TINBAO_BASE_URL=https://127.0.0.1:$https_port")
  url="https://127.0.0.1:$https_port/"
else
  web_env=(TINBAO_PROXY_HOPS=0 TINBAO_COOKIE_SECURE=0 TINBAO_FORCE_HTTPS=0
           "TINBAO_BASE_URL=http://127.0.0.1:$web_port")
  url="http://127.0.0.1:$web_port/"
fi

env "${web_env[@]}" TINBAO_BIND="127.0.0.1:$web_port" \
  .venv/bin/gunicorn -c deploy/gunicorn.conf.py &
pids+=($!)
for i in $(seq 1 "${TINBAO_JOB_WORKERS:-1}"); do
  # At idle priority, as in deploy/systemd/tinbao-worker@.service: reporters first.
  chrt --idle 0 "${flask[@]}" jobs worker &
  pids+=($!)
done
if [ "$proxy" = 1 ]; then
  nginx -c "$ngx/nginx.conf" -e "$ngx/log/error.log" -g "daemon off;" &
  pids+=($!)
fi

# Wait until gunicorn answers, then say where.
for _ in $(seq 1 60); do
  if .venv/bin/python -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$web_port" 2>/dev/null; then
    break
  fi
  sleep 0.5
done
echo
echo "run-prod: tinbao (production topology) at $url"
[ "$proxy" = 1 ] && echo "  (self-signed certificate: $prod/nginx/tls/fullchain.pem; gunicorn itself on 127.0.0.1:$web_port)"
echo "  PostgreSQL database: ${TINBAO_DATABASE_URL##*/}; Redis: $TINBAO_REDIS_URL;" \
     "${TINBAO_WORKERS:-4} gunicorn workers, ${TINBAO_JOB_WORKERS:-1} job worker(s)"
echo "  staff logins (demo accounts): $prod/demo-logins.txt; Ctrl-C stops everything"
# Stop everything as soon as one part exits (or on Ctrl-C).
set +e
wait -n "${pids[@]}"
status=$?
echo "run-prod: a process exited ($status); stopping the others" >&2
exit "$status"
