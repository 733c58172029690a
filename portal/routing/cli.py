"""``flask --app portal routing suggest``: route reports given as JSON Lines (a public contract).

Input, one JSON object per line on stdin: ``{"id", "text"}`` and optionally ``"report_type"``,
``"subject"``, ``"province_code"``, ``"ward_code"``, ``"anonymous"``. The classifier reads the
text; the given fields override its reading. Output, one line per input in the same order:
``{"id", "agency_kind", "agency_id", "rule", "legal_basis"}`` — ``agency_id`` from the agency
directory of the configured database, null when it has no such body. A bad line gets
``{"id", "error"}`` in its place and the exit status is 1; no trained classifier: status 2.
"""

import json
import sys
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from classifier.taxonomy import REPORT_TYPES, SUBJECTS
from portal import geo
from portal.extensions import db
from portal.routing import services
from portal.routing.engine import suggest
from portal.routing.facts import derive_facts

BATCH = 64
OPTIONAL = ("report_type", "subject", "province_code", "ward_code", "anonymous")


@click.group("routing", cls=AppGroup)
def routing_group() -> None:
    """Routing rules: suggest the competent agency for reports."""


@routing_group.command("suggest")
def suggest_command() -> None:
    """Read JSON Lines reports on stdin; print one routing suggestion per line."""
    from portal.classification.services import ClassifierUnavailable

    try:
        classifier = current_app.extensions["tinbao.classifier"].get()
    except (ClassifierUnavailable, FileNotFoundError) as exc:
        click.echo(f"error: no trained classifier ({exc}); train one from the project root "
                   "with: .venv/bin/python -m classifier train", err=True)
        sys.exit(2)
    rules = services.current_rules()
    try:
        directory = services.directory_entries()
    except SQLAlchemyError as exc:
        # Routing still works without the directory: agency_kind, rule and legal basis are
        # given, agency_id is null. Say why, once.
        db.session.rollback()
        click.echo("warning: cannot read the agency directory (run `flask --app portal db "
                   f"upgrade` and `flask --app portal seed`): {type(exc).__name__}; every "
                   "agency_id will be null", err=True)
        directory = []
    if not directory:
        click.echo("warning: the agency directory is empty; every agency_id will be null",
                   err=True)

    failures = 0
    out = sys.stdout
    for batch in _batches(sys.stdin):
        parsed = [_parse(line) for line in batch]
        good = [item for item in parsed if "error" not in item]
        answers = iter(classifier.predict([
            {"id": item["id"], "text": item["text"], "report_type": item.get("report_type"),
             "province_code": item.get("province_code")} for item in good]))
        for item in parsed:
            if "error" in item:
                failures += 1
                record = item
            else:
                inputs = {key: item.get(key) for key in OPTIONAL}
                inputs.update(text=item["text"], classifier=next(answers))
                suggestion = suggest(derive_facts(inputs, rules), rules, directory)
                record = {"id": item["id"], "agency_kind": suggestion.agency_kind,
                          "agency_id": suggestion.agency_id, "rule": suggestion.rule_id,
                          "legal_basis": suggestion.legal_basis}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
    sys.exit(1 if failures else 0)


def _batches(stream):
    batch = []
    for line in stream:
        if not line.strip():
            continue
        batch.append(line)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _parse(line: str) -> dict[str, Any]:
    """One input line, checked; a problem gives ``{"id", "error"}``."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"id": None, "error": f"not valid JSON: {exc.msg}"}
    if not isinstance(item, dict):
        return {"id": None, "error": "expected a JSON object"}
    report_id = item.get("id")
    if not isinstance(item.get("text"), str):
        return {"id": report_id, "error": "expected a string 'text'"}
    try:
        checked = {"id": report_id, "text": item["text"]}
        checked["report_type"] = _choice(item, "report_type", REPORT_TYPES)
        checked["subject"] = _choice(item, "subject", SUBJECTS)
        checked["province_code"] = _code(item, "province_code")
        checked["ward_code"] = _code(item, "ward_code")
        anonymous = item.get("anonymous")
        if anonymous is not None and not isinstance(anonymous, bool):
            raise ValueError("'anonymous' must be true or false")
        # Not said: treated as a named report (a denunciation is then routed as one).
        checked["anonymous"] = bool(anonymous)
        _check_place(checked["province_code"], checked["ward_code"])
    except ValueError as exc:
        return {"id": report_id, "error": str(exc)}
    return checked


def _choice(item: dict, key: str, allowed) -> str | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise ValueError(f"'{key}' must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _code(item: dict, key: str) -> int | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"'{key}' must be an integer code, not {value!r}")
    return value


def _check_place(province_code: int | None, ward_code: int | None) -> None:
    if province_code is not None and geo.province_name(province_code) is None:
        raise ValueError(f"unknown province_code {province_code}")
    if ward_code is not None:
        province = geo.ward_province(ward_code)
        if province is None:
            raise ValueError(f"unknown ward_code {ward_code}")
        if province_code is not None and province != province_code:
            raise ValueError(f"ward_code {ward_code} is not in province {province_code}")
