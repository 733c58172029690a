"""``/api/v1``: the same validation and limits as the web form, JSON in and out.

The receipt code travels in ``Authorization: Receipt <code>``; no cookies are used, so the
blueprint is exempt from CSRF.
"""

import json
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _
from flask_babel import get_locale

from portal.antispam import services as antispam
from portal.extensions import limiter, lookup_global_limit
from portal.public.views import storage
from portal.receipts import new_code
from portal.reports import intake, reporter

bp = Blueprint("api", __name__, url_prefix="/api/v1")

OPENAPI_PATH = Path(__file__).with_name("openapi.json")


def _error(status: int, error: str, fields: dict | None = None, message: str | None = None):
    body = {"error": error, "fields": {k: str(v) for k, v in (fields or {}).items()}}
    if message:
        body["message"] = message
    return jsonify(body), status


def _json_body():
    """The request's JSON object, or None when the body is not a valid UTF-8 JSON object."""
    if not request.is_json:
        return None
    try:
        data = json.loads(request.get_data().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _report_from_header():
    scheme, _sep, code = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "receipt" or not code.strip():
        return None
    return reporter.find_by_code(code.strip(), current_app.config["SECRET_KEY"])


def _not_found():
    return _error(404, "not_found", message=_("Không mở được hồ sơ với mã này."))


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return Response(OPENAPI_PATH.read_text(encoding="utf-8"), mimetype="application/json")


@bp.post("/reports")
@limiter.limit(lambda: current_app.config["FILING_RATE_LIMIT"])
def create_report():
    """File a report; answers the receipt code once."""
    data = _json_body()
    if data is None:
        return _error(400, "invalid_json", message=_("Nội dung gửi lên phải là JSON (UTF-8)."))
    try:
        submission = intake.validate(data, [], current_app.config)
    except intake.ValidationError as exc:
        return _error(422, "validation_failed", exc.fields)
    if antispam.honeypot_filled(data.get(antispam.HONEYPOT_FIELD)):
        # The honeypot (openapi.json, NewReport): answered like a filing, nothing stored, and
        # the code opens nothing.
        return jsonify({"receipt_code": new_code(), "status": "received"}), 201
    submission.channel = "api"
    submission.language = str(get_locale() or "vi")
    report, code = intake.file_report(
        submission, secret_key=current_app.config["SECRET_KEY"], storage=storage()
    )
    return jsonify({"receipt_code": code, "status": report.status}), 201


@bp.get("/reports/status")
@limiter.limit(lambda: current_app.config["LOOKUP_RATE_LIMIT"])
@lookup_global_limit()
def report_status():
    """Status, history and messages of the case the receipt code opens."""
    report = _report_from_header()
    if report is None:
        return _not_found()
    view = reporter.public_view(report)
    for item in view["history"] + view["messages"]:
        item["at"] = item["at"].isoformat()
    return jsonify(view)


@bp.post("/reports/messages")
@limiter.limit(lambda: current_app.config["LOOKUP_RATE_LIMIT"])
@lookup_global_limit()
def add_message():
    """Add a message from the reporter."""
    report = _report_from_header()
    if report is None:
        return _not_found()
    data = _json_body()
    if data is None:
        return _error(400, "invalid_json", message=_("Nội dung gửi lên phải là JSON (UTF-8)."))
    text, error = intake.check_text(
        data.get("text"), min_chars=1, max_chars=current_app.config["MESSAGE_MAX_CHARS"]
    )
    if error:
        return _error(422, "validation_failed", {"text": error})
    reporter.add_reporter_message(report, text, [], storage())
    return jsonify({"status": reporter.public_view(report)["status"]}), 201


@bp.post("/reports/receipt")
@limiter.limit(lambda: current_app.config["LOOKUP_RATE_LIMIT"])
@lookup_global_limit()
def rotate_receipt():
    """Replace the receipt code: answers the new one once; the old one stops working."""
    report = _report_from_header()
    if report is None:
        return _not_found()
    code = reporter.rotate_code(report, current_app.config["SECRET_KEY"], channel="api")
    return jsonify({"receipt_code": code}), 201
