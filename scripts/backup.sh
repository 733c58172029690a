#!/usr/bin/env bash
# Back up tinbao's data: the PostgreSQL database (pg_dump, custom format) and the upload folder
# (attachments, already encrypted), into one new dated folder (docs/deployment.md, "Backup and
# restore"). Usage:
#   scripts/backup.sh [DEST]          DEST defaults to instance/backups
# Settings come from the environment, or from the file TINBAO_ENV_FILE names (e.g.
# TINBAO_ENV_FILE=/etc/tinbao/tinbao.env): TINBAO_DATABASE_URL (PostgreSQL only) and
# TINBAO_UPLOAD_FOLDER. PG_BIN may name the folder of pg_dump (default: the server's version
# under /usr/lib/postgresql, else PATH).
#
# The keys are NOT in the backup, on purpose: the dump holds only ciphertext, and the keys
# (TINBAO_KEYS_FOLDER) and TINBAO_SECRET_KEY must be kept separately, offline. Without them the
# backup cannot be read; with them and without the backup, there is nothing to read.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${TINBAO_ENV_FILE:-}" ]; then
  set -a
  # shellcheck disable=SC1090
  . "$TINBAO_ENV_FILE"
  set +a
fi
url=${TINBAO_DATABASE_URL:?set TINBAO_DATABASE_URL (or TINBAO_ENV_FILE)}
case "$url" in
  postgresql*) ;;
  *) echo "backup: TINBAO_DATABASE_URL is not PostgreSQL; copy the SQLite file while the portal is stopped" >&2
     exit 1 ;;
esac
# SQLAlchemy's driver suffix means nothing to libpq.
libpq_url=${url/postgresql+psycopg:/postgresql:}
uploads=${TINBAO_UPLOAD_FOLDER:-instance/uploads}

if [ -z "${PG_BIN:-}" ]; then
  major=$(psql "$libpq_url" -Atqc "SHOW server_version_num" 2>/dev/null | cut -c1-2 || true)
  if [ -n "$major" ] && [ -x "/usr/lib/postgresql/$major/bin/pg_dump" ]; then
    PG_BIN=/usr/lib/postgresql/$major/bin
  fi
fi
pg_dump=${PG_BIN:+$PG_BIN/}pg_dump

dest_root=${1:-instance/backups}
dest=$dest_root/tinbao-$(date -u +%Y%m%dT%H%M%SZ)
umask 077
mkdir -p "$dest"

# The database first, then the files: a report filed in between leaves a file without its row
# (harmless, never opened), never a row without its file.
"$pg_dump" --format=custom --no-owner --no-acl --file "$dest/database.dump" "$libpq_url"
if [ -d "$uploads" ]; then
  tar -C "$uploads" -cf "$dest/uploads.tar" .
  files=$(tar -tf "$dest/uploads.tar" | grep -vc '/$' || true)
else
  echo "backup: no upload folder at $uploads (nothing filed with attachments yet?)" >&2
  tar -cf "$dest/uploads.tar" --files-from /dev/null
  files=0
fi
(cd "$dest" && sha256sum database.dump uploads.tar >SHA256SUMS)

echo "backup: $dest"
echo "  database.dump  $(du -h "$dest/database.dump" | cut -f1)  (pg_restore --no-owner -d <new database>)"
echo "  uploads.tar    $files files  (tar -C <TINBAO_UPLOAD_FOLDER> -xf uploads.tar)"
echo "Reminder: the encryption keys (${TINBAO_KEYS_FOLDER:-instance/keys}) and TINBAO_SECRET_KEY"
echo "are not in this backup. Keep them separately (offline); without them it cannot be read."
