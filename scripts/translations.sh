#!/usr/bin/env bash
# Translation catalogue workflow for the portal.
#
# Vietnamese is the source language (every msgid is Vietnamese); English is the one
# translated locale. Run from the project root (several steps may be chained, in order:
# `scripts/translations.sh extract update compile`):
#
#   scripts/translations.sh extract   # portal code + templates -> portal/translations/messages.pot
#   scripts/translations.sh update    # extract, then merge the .pot into en/LC_MESSAGES/messages.po
#                                     # (creates the .po if it is missing)
#   scripts/translations.sh compile   # .po -> .mo (git-ignored; built at set-up and test time)
#   scripts/translations.sh check     # fail if any extracted msgid is missing, empty or fuzzy in en
#
# After `update`, translate the new/fuzzy entries in the .po (remove the `#, fuzzy` flag once
# checked), then run `check` and `compile`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYBABEL=./.venv/bin/pybabel
PYTHON=./.venv/bin/python
CFG=babel.cfg
TRANSLATIONS=portal/translations
POT="$TRANSLATIONS/messages.pot"
LOCALE=en
PO="$TRANSLATIONS/$LOCALE/LC_MESSAGES/messages.po"
MO="$TRANSLATIONS/$LOCALE/LC_MESSAGES/messages.mo"

# Temporary files to remove on exit, however the script ends.
TMPFILES=()
cleanup() {
    if [[ ${#TMPFILES[@]} -gt 0 ]]; then
        rm -f -- "${TMPFILES[@]}"
    fi
}
trap cleanup EXIT

usage() {
    echo "usage: $0 {extract|update|compile|check}..." >&2
    exit 2
}

# extract OUTPUT: pull every marked string out of portal/ into a PO template.
extract_to() {
    "$PYBABEL" -q extract \
        -F "$CFG" \
        -k _l -k lazy_gettext \
        --add-comments=TRANSLATORS: \
        --project=tinbao \
        -o "$1" \
        .
}

cmd_extract() {
    local fresh
    fresh="$(mktemp "$TRANSLATIONS/.messages.pot.XXXXXX")"
    TMPFILES+=("$fresh")
    extract_to "$fresh"
    # Leave the committed template alone when only its POT-Creation-Date would change.
    if [[ -f "$POT" ]] && cmp -s <(grep -v '^"POT-Creation-Date: ' "$POT") \
                                  <(grep -v '^"POT-Creation-Date: ' "$fresh"); then
        rm -f "$fresh"
        echo "$POT is up to date"
    else
        chmod 644 "$fresh"
        mv "$fresh" "$POT"
        echo "extracted $(grep -c '^msgid "' "$POT" | awk '{print $1 - 1}') messages to $POT"
    fi
}

cmd_update() {
    cmd_extract
    if [[ -f "$PO" ]] && "$PYBABEL" -q update -i "$POT" -d "$TRANSLATIONS" -l "$LOCALE" \
            --ignore-obsolete --ignore-pot-creation-date --check 2>/dev/null; then
        echo "$PO is up to date"
    else
        "$PYBABEL" update \
            -i "$POT" \
            -d "$TRANSLATIONS" \
            -l "$LOCALE" \
            --init-missing \
            --ignore-obsolete
    fi
    # Report what still needs a translator (does not fail: `check` does that).
    catalogue_stats "$PO" || true
}

# catalogue_stats PO: print how many entries are untranslated or fuzzy; exit 1 if any.
catalogue_stats() {
    "$PYTHON" - "$1" <<'PY'
import sys
from babel.messages.pofile import read_po

path = sys.argv[1]
with open(path, "rb") as fh:
    catalog = read_po(fh)
messages = [m for m in catalog if m.id]
untranslated = [m for m in messages
                if not (all(m.string) if isinstance(m.string, (list, tuple)) else m.string)]
fuzzy = [m for m in messages if m.fuzzy]
print(f"{path}: {len(messages)} messages, {len(untranslated)} untranslated, "
      f"{len(fuzzy)} fuzzy")
if untranslated:
    print(f"warning: {len(untranslated)} untranslated message(s) in {path} "
          "(they will show in Vietnamese)", file=sys.stderr)
if fuzzy:
    print(f"warning: {len(fuzzy)} fuzzy message(s) in {path} (not compiled until reviewed)",
          file=sys.stderr)
sys.exit(1 if untranslated or fuzzy else 0)
PY
}

cmd_compile() {
    if [[ ! -f "$PO" ]]; then
        echo "error: $PO does not exist (run: $0 update)" >&2
        exit 1
    fi
    if "$PYTHON" -c '
import sys
from babel.messages.pofile import read_po
with open(sys.argv[1], "rb") as fh:
    sys.exit(0 if read_po(fh).fuzzy else 1)
' "$PO"; then
        # pybabel silently skips a catalogue whose header is fuzzy; we want to know.
        echo "error: $PO is marked fuzzy in its header; remove the '#, fuzzy' line there" >&2
        exit 1
    fi
    rm -f "$MO"
    # pybabel exits non-zero on errors (e.g. a %(name)s placeholder missing from the English)
    # but still writes the .mo: remove it then, rather than ship strings that fail at runtime.
    if ! "$PYBABEL" compile -d "$TRANSLATIONS" -l "$LOCALE" --statistics; then
        rm -f "$MO"
        echo "error: $PO has errors; $MO was not built" >&2
        exit 1
    fi
    if [[ ! -s "$MO" ]]; then
        echo "error: $MO was not written" >&2
        exit 1
    fi
    # Untranslated entries show in Vietnamese; say how many (without failing the build).
    catalogue_stats "$PO" >/dev/null || true
}

cmd_check() {
    if [[ ! -f "$PO" ]]; then
        echo "error: $PO does not exist (run: $0 update)" >&2
        exit 1
    fi
    # Check against a fresh extraction, so that a string added to the code but not yet
    # extracted into the committed .pot is caught too.
    local fresh
    fresh="$(mktemp "${TMPDIR:-/tmp}/tinbao-messages.XXXXXX")"
    TMPFILES+=("$fresh")
    extract_to "$fresh"
    "$PYTHON" - "$fresh" "$POT" "$PO" <<'PY'
import sys
from babel.messages.pofile import read_po

fresh_path, pot_path, po_path = sys.argv[1:4]


def load(path, **kw):
    with open(path, "rb") as fh:
        return read_po(fh, **kw)


def key(message):
    return (message.id if isinstance(message.id, str) else message.id[0], message.context)


def where(message):
    locs = ", ".join(f"{f}:{n}" for f, n in message.locations[:3])
    return f" ({locs})" if locs else ""


def show(msgid):
    text = msgid if isinstance(msgid, str) else msgid[0]
    return text if len(text) <= 70 else text[:67] + "..."


template = load(fresh_path)
catalog = load(po_path, locale="en")
problems = []

if catalog.fuzzy:
    problems.append(f"{po_path}: the catalogue header is marked fuzzy")

for message in template:
    if not message.id:
        continue
    translated = catalog.get(*key(message))
    if translated is None:
        problems.append(f"missing: {show(message.id)!r}{where(message)}")
        continue
    strings = translated.string if isinstance(translated.string, (list, tuple)) \
        else [translated.string]
    if not all(strings):
        problems.append(f"untranslated: {show(message.id)!r}{where(message)}")
    elif translated.fuzzy:
        problems.append(f"fuzzy: {show(message.id)!r}{where(message)}")

for message, errors in catalog.check():
    for error in errors:
        problems.append(f"{po_path}:{message.lineno}: {error}")

try:
    committed = {key(m) for m in load(pot_path) if m.id}
except FileNotFoundError:
    committed = set()
extracted = {key(m) for m in template if m.id}
if committed != extracted:
    print(f"note: {pot_path} is out of date; run: scripts/translations.sh update",
          file=sys.stderr)

if problems:
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"error: {len(problems)} problem(s) in the English catalogue {po_path}; "
          "run scripts/translations.sh update, translate, then check again", file=sys.stderr)
    sys.exit(1)
print(f"ok: all {len(extracted)} messages are translated in {po_path}")
PY
}

# Several steps may be given; they run in order: scripts/translations.sh update compile
[[ $# -ge 1 ]] || usage
for step in "$@"; do
    case "$step" in
        extract | update | compile | check) ;;
        *) usage ;;
    esac
done
for step in "$@"; do
    "cmd_$step"
done
