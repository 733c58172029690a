"""Spam without surveillance: the honeypot on the form and the API, and the optional proof of
work that earns a JavaScript client a higher filing rate without locking anyone else out."""

import hashlib
import itertools
import re
import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from portal.antispam import services
from portal.extensions import limiter
from tests.helpers import csrf_token, file_report, open_case, table_has_no_rows

FORM = "/gui-tin?province=19"
TEXT = ("Cán bộ địa chính xã nhận hối lộ 50 triệu đồng để cấp sổ đỏ sai quy định cho một hộ "
        "dân ở thôn Đồng Bẩm.")
REPORT_TABLES = ("reports", "reporter_identities", "attachments", "report_events")


def solve(challenge: str, difficulty: int) -> str:
    """A plain hashcash solver, as a client without a browser would write it."""
    for nonce in itertools.count():
        digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
        if int.from_bytes(digest, "big") >> (256 - difficulty) == 0:
            return f"{challenge}:{nonce}"
    raise AssertionError("unreachable")


def solved_challenge(client) -> str:
    response = client.get("/pow/challenge")
    assert response.status_code == 200
    body = response.get_json()
    return solve(body["challenge"], body["difficulty"])


def post_filing(client, **fields):
    data = {"csrf_token": csrf_token(client, FORM), "reporter_role": "citizen", "report_type": "",
            "province_code": "19", "ward_code": "", "identity_choice": "anonymous",
            "contact_preference": "none", "text": TEXT, **fields}
    return client.post(FORM, data=data, content_type="multipart/form-data")


def reports_stored(app) -> int:
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.reports.models import Report

    with app.app_context():
        return db.session.scalar(select(func.count(Report.id)))


# --- honeypot --------------------------------------------------------------------------------


def test_filing_form_has_a_hidden_honeypot_people_are_told_to_leave_empty(client):
    page = client.get(FORM).get_data(as_text=True)
    block = re.search(r'<div class="field-extra" aria-hidden="true">(.*?)</div>', page, re.S)
    assert block, "honeypot block missing"
    assert '<label for="website">Để trống ô này</label>' in block.group(1)
    field = re.search(r"<input[^>]*name=\"website\"[^>]*>", block.group(1)).group(0)
    assert 'tabindex="-1"' in field and 'autocomplete="off"' in field and 'value=""' in field
    # Hidden by the stylesheet, not by an inline style or display:none.
    css = client.get("/static/css/site.css").get_data(as_text=True)
    rule = re.search(r"\.field-extra \{([^}]*)\}", css).group(1)
    assert "position: absolute" in rule and "clip" in rule and "display" not in rule


def test_a_filled_honeypot_looks_filed_but_nothing_is_stored(app, client):
    response = post_filing(client, website="http://spam.example")
    assert response.status_code == 302 and response.headers["Location"] == "/bien-nhan"
    receipt = client.get("/bien-nhan").get_data(as_text=True)
    code = re.search(r"data-receipt-code>([^<]+)<", receipt).group(1)
    assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3}", code)
    assert "Đã nhận tin của bạn" in receipt
    assert table_has_no_rows(app, *REPORT_TABLES)
    # The code it was shown opens nothing.
    token = csrf_token(client, "/tra-cuu")
    assert client.post("/tra-cuu", data={"csrf_token": token, "code": code}).status_code == 404


def tiny_png() -> bytes:
    """A valid 1×1 PNG, built by hand."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def test_a_filled_honeypot_keeps_attachments_out_too(app, client):
    import io
    import os

    # The same attachment is accepted from a person...
    assert post_filing(client, attachments=(io.BytesIO(tiny_png()), "anh.png")).status_code == 302
    assert reports_stored(app) == 1
    uploads = app.config["UPLOAD_FOLDER"]
    before = set(os.listdir(uploads))
    assert before
    # ...and from a bot it looks accepted but neither the report nor the file is stored.
    response = post_filing(client, website="x", attachments=(io.BytesIO(tiny_png()), "anh.png"))
    assert response.status_code == 302
    assert reports_stored(app) == 1
    assert set(os.listdir(uploads)) == before


def test_an_empty_or_blank_honeypot_files_normally(app, client):
    code = file_report(client, website="   ")
    assert "Đã tiếp nhận" in open_case(client, code).get_data(as_text=True)
    assert reports_stored(app) == 1


def test_a_honeypot_filing_with_errors_gets_the_same_errors_as_a_person(app, client):
    response = post_filing(client, website="spam", text="ngắn")
    assert response.status_code == 422
    assert "Nội dung quá ngắn" in response.get_data(as_text=True)
    assert table_has_no_rows(app, *REPORT_TABLES)


def test_api_honeypot_answers_like_a_filing_and_stores_nothing(app, client):
    response = client.post("/api/v1/reports", json={"text": TEXT, "website": "http://spam"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "received"
    assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3}", body["receipt_code"])
    assert table_has_no_rows(app, *REPORT_TABLES)
    status = client.get("/api/v1/reports/status",
                        headers={"Authorization": f"Receipt {body['receipt_code']}"})
    assert status.status_code == 404
    # Blank or null is not a bot.
    for value in ("", None):
        filed = client.post("/api/v1/reports", json={"text": TEXT, "website": value})
        assert filed.status_code == 201
    assert reports_stored(app) == 2


def test_api_honeypot_is_documented(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "`website`" in doc["components"]["schemas"]["NewReport"]["description"]


@pytest.mark.parametrize("value, filled", [(None, False), ("", False), ("  ", False),
                                           ("x", True), (0, True), (False, True), ([], True)])
def test_honeypot_values(value, filled):
    assert services.honeypot_filled(value) is filled


# --- proof of work ---------------------------------------------------------------------------


def test_challenge_is_signed_short_lived_and_sets_no_cookie(app, client):
    response = client.get("/pow/challenge")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    body = response.get_json()
    assert body["difficulty"] == app.config["POW_DIFFICULTY"] >= 12
    assert body["expires_in"] == app.config["POW_MAX_AGE"] <= 900
    assert body["challenge"] != client.get("/pow/challenge").get_json()["challenge"]


def test_solution_checks(app):
    config = app.config
    secret, difficulty = config["SECRET_KEY"], 8
    kwargs = {"secret_key": secret, "max_age": 600, "min_difficulty": difficulty}
    challenge = services.new_challenge(secret, difficulty, 600)["challenge"]
    good = solve(challenge, difficulty)
    assert services.check_solution(good, **kwargs)

    nonce = int(good.rsplit(":", 1)[1])
    wrong = next(f"{challenge}:{n}" for n in itertools.count(nonce + 1)
                 if services.leading_zero_bits(services.solution_digest(challenge, str(n))) < 8)
    assert services.check_solution(wrong, **kwargs) is None
    # Signed with another key, tampered with, or easier than today's setting: refused.
    forged = services.new_challenge("another-secret", difficulty, 600)["challenge"]
    assert services.check_solution(solve(forged, difficulty), **kwargs) is None
    tampered = challenge[:-2] + ("AA" if challenge[-2:] != "AA" else "BB")
    assert services.check_solution(solve(tampered, difficulty), **kwargs) is None
    easy = services.new_challenge(secret, difficulty - 4, 600)["challenge"]
    assert services.check_solution(solve(easy, difficulty - 4), **kwargs) is None
    for junk in (None, "", "abc", f"{challenge}:", f"{challenge}:-1", f"{challenge}:1e5", 42,
                 f"{challenge}:{'9' * 17}", "x" * 600):
        assert services.check_solution(junk, **kwargs) is None


def test_an_expired_challenge_is_refused(app, monkeypatch):
    secret = app.config["SECRET_KEY"]
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 3600)
    old = services.new_challenge(secret, 8, 600)["challenge"]
    monkeypatch.setattr(time, "time", real_time)
    assert URLSafeTimedSerializer(secret, salt="tinbao proof-of-work challenge v1").loads(old)
    assert services.check_solution(solve(old, 8), secret_key=secret, max_age=600,
                                   min_difficulty=8) is None


def test_leading_zero_bits():
    assert services.leading_zero_bits(b"\x00\x00\x01") == 23
    assert services.leading_zero_bits(b"\x0f") == 4
    assert services.leading_zero_bits(b"\x80") == 0
    assert services.leading_zero_bits(b"\x00\x00") == 16


@pytest.fixture
def tight_limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "FILING_RATE_LIMIT", "2 per hour")
    monkeypatch.setitem(app.config, "POW_FILING_RATE_LIMIT", "4 per hour")
    monkeypatch.setitem(app.config, "POW_DIFFICULTY", 12)
    limiter.reset()
    yield
    limiter.reset()


def test_solved_challenge_earns_a_higher_filing_rate(app, client, tight_limits):
    assert post_filing(client).status_code == 302
    assert post_filing(client).status_code == 302
    refused = post_filing(client)
    assert refused.status_code == 429
    assert "Bạn đã thử quá nhiều lần" in refused.get_data(as_text=True)
    # With a solved challenge the same browser may go on, up to the higher limit.
    for _ in range(4):
        assert post_filing(client, pow=solved_challenge(client)).status_code == 302
    assert post_filing(client, pow=solved_challenge(client)).status_code == 429
    assert reports_stored(app) == 6


def test_a_solution_works_once(app, client, tight_limits):
    solution = solved_challenge(client)
    assert post_filing(client).status_code == 302
    assert post_filing(client).status_code == 302
    assert post_filing(client, pow=solution).status_code == 302
    # Replayed: it is no longer worth anything, so the normal (spent) limit applies.
    assert post_filing(client, pow=solution).status_code == 429
    assert reports_stored(app) == 3


def test_without_javascript_or_with_a_bad_token_filing_works_under_normal_limits(
        app, client, tight_limits):
    assert post_filing(client, pow="").status_code == 302
    assert post_filing(client, pow="not-a-solution:12").status_code == 302
    assert post_filing(client).status_code == 429
    assert reports_stored(app) == 2


def test_solved_filings_do_not_use_up_the_no_javascript_allowance(app, client, tight_limits):
    for _ in range(3):
        assert post_filing(client, pow=solved_challenge(client)).status_code == 302
    assert post_filing(client).status_code == 302
    assert post_filing(client).status_code == 302
    assert reports_stored(app) == 5


def test_filing_form_loads_the_optional_script_and_its_field(client):
    page = client.get(FORM).get_data(as_text=True)
    assert 'data-pow-url="/pow/challenge"' in page
    assert '<input type="hidden" name="pow" value="">' in page
    assert '<script src="/static/js/pow.js" defer></script>' in page
    script = client.get("/static/js/pow.js")
    assert script.status_code == 200 and script.mimetype in ("text/javascript",
                                                             "application/javascript")
    source = script.get_data(as_text=True)
    script.close()
    assert 'crypto.subtle.digest("SHA-256"' in source
    assert "form.submit()" in source  # sends the form whatever happens
