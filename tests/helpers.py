"""Helpers for driving the portal like a person does: through its forms, with CSRF."""

import re

import pyotp
from sqlalchemy import inspect, select, text

from portal.extensions import db

CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)
PASSWORD = "correct horse battery staple"
# TOTP secrets of the test users enrolled in two-factor (filled by the make_user fixture).
TOTP_SECRETS: dict[str, str] = {}
_LAST_TOTP_STEP: dict[str, int] = {}


def csrf_token(client, url: str) -> str:
    """The CSRF token from the form on ``url`` (tests keep CSRF on, like production)."""
    page = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {url}"
    return match.group(1) or match.group(2)


def file_report(client, *, province="19", **fields) -> str:
    """File a report through the public form; returns the receipt code shown once."""
    url = f"/gui-tin?province={province}"
    data = {
        "csrf_token": csrf_token(client, url),
        "reporter_role": "citizen",
        "report_type": "",
        "province_code": province if province != "0" else "",
        "ward_code": "",
        "identity_choice": "anonymous",
        "contact_preference": "none",
        "text": "Cán bộ địa chính xã nhận hối lộ 50 triệu đồng để cấp sổ đỏ sai quy định cho "
                "một hộ dân ở thôn Đồng Bẩm.",
    }
    data.update(fields)
    response = client.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    receipt = client.get("/bien-nhan").get_data(as_text=True)
    match = re.search(r"data-receipt-code>([^<]+)<", receipt)
    assert match, receipt[:2000]
    return match.group(1)


def open_case(client, code: str):
    """Open the reporter's case page with a receipt code."""
    token = csrf_token(client, "/tra-cuu")
    response = client.post("/tra-cuu", data={"csrf_token": token, "code": code})
    assert response.status_code == 302
    return client.get("/ho-so")


def login(client, username: str, password: str = PASSWORD):
    """Log in through the form; users with two-factor also get through the code step."""
    token = csrf_token(client, "/staff/login")
    response = client.post("/staff/login", data={"csrf_token": token, "username": username,
                                                 "password": password})
    if (response.status_code == 302 and response.headers["Location"] == "/staff/login/code"
            and username.lower() in TOTP_SECRETS):
        response = client.post("/staff/login/code", data={
            "csrf_token": csrf_token(client, "/staff/login/code"),
            "code": totp_code(username)})
    return response


def enrol_totp(user) -> str:
    """Give ``user`` a confirmed TOTP secret, as the enrolment page would; returns the secret."""
    from flask import current_app

    from portal import timeutil
    from portal.accounts import twofactor

    secret = pyotp.random_base32()
    user.totp_secret_encrypted = twofactor.seal_secret(
        secret, user_id=user.id, secret_key=current_app.config["SECRET_KEY"])
    user.totp_enabled_at = timeutil.utcnow()
    TOTP_SECRETS[user.username] = secret
    return secret


def totp_code(username: str) -> str:
    """A code for ``username`` that the server has not accepted yet (codes are single-use): the
    current time step's, or the next one's when the current one was used (still accepted)."""
    from portal import timeutil

    secret = TOTP_SECRETS[username.lower()]
    step = max(int(timeutil.utcnow().timestamp()) // 30, _LAST_TOTP_STEP.get(secret, -1) + 1)
    _LAST_TOTP_STEP[secret] = step
    return pyotp.TOTP(secret).generate_otp(step)


def table_has_no_rows(app, *tables: str) -> bool:
    with app.app_context():
        with db.engine.connect() as conn:
            return all(
                conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() == 0  # noqa: S608
                for t in tables
            )


def all_table_names(app) -> list[str]:
    with app.app_context():
        return inspect(db.engine).get_table_names()


def post_form(client, url: str, data: dict | None = None, *, token_from: str, **kwargs):
    """Submit a form to ``url`` as a person would: open ``token_from`` (the page that shows the
    form) for its CSRF token, then POST ``data`` with it."""
    return client.post(url, data={"csrf_token": csrf_token(client, token_from), **(data or {})},
                       **kwargs)


class StubClassifier:
    """Stands in for the trained model in portal tests: a few keyword rules, same output shape.

    (The real model is tested in tests/unit/classifier; here we test what the portal does with
    an answer.)
    """

    name = "stub"

    def predict(self, items):
        from portal.textfold import fold

        answers = []
        for item in items:
            text = item["text"]
            folded = fold(text)
            sector = "land" if ("so do" in folded or "dat" in folded.split()) else "other"
            articles = []
            start = folded.find("hoi lo")
            if start >= 0:
                evidence = {"text": text[start:start + 6], "start": start, "end": start + 6}
                articles.append({"article": 354, "name": "Nhận hối lộ", "evidence": [evidence]})
            answers.append({
                "id": item.get("id"),
                "sector": {"code": sector, "score": 0.9,
                           "ranked": [{"code": sector, "score": 0.9}]},
                "report_type": {"code": "denunciation", "score": 0.8,
                                "ranked": [{"code": "denunciation", "score": 0.8}]},
                "subject": {"code": "official", "score": 0.7,
                            "ranked": [{"code": "official", "score": 0.7}]},
                "crime_signs": {"flag": bool(articles), "score": 0.95 if articles else 0.05,
                                "articles": articles},
                "flags": ["corruption"] if articles else [],
                "needs_review": False,
                "model": {"name": "stub", "version": "1"},
            })
        return answers


def act_as(app, report_id: int, username: str, action, *args, **kwargs):
    """Call a ``portal.reports.handling`` action as ``username`` on a report, in a fresh
    session (as a request would)."""
    from portal.accounts.models import User
    from portal.reports.models import Report

    with app.app_context():
        report = db.session.get(Report, report_id)
        user = db.session.scalar(select(User).where(User.username == username))
        try:
            return action(user, report, *args, **kwargs)
        finally:
            db.session.remove()
