"""Receipt codes: the reporter can replace a code (web and API), the old one stops working at
once, and lookups are limited for all clients together as well as per client."""

import re

from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.extensions import db
from tests.functional.test_api import (  # noqa: F401 (openapi is a fixture)
    CODE_RE,
    STATUS,
    check,
    file_via_api,
    openapi,
    receipt,
    response_schema,
)
from tests.helpers import csrf_token, file_report, open_case

ROTATE = "/api/v1/reports/receipt"
ADDRESS = "198.51.100.77"


def rotate_on_the_web(client) -> str:
    """Press "Đổi sang mã mới" on the status page; returns the new code shown once."""
    token = csrf_token(client, "/ho-so")
    response = client.post("/ho-so/doi-ma", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/ho-so/ma-moi"
    page = client.get("/ho-so/ma-moi").get_data(as_text=True)
    match = re.search(r"data-receipt-code>([^<]+)<", page)
    assert match, page[:2000]
    return match.group(1)


def lookup(client, code: str):
    return client.post("/tra-cuu", data={"csrf_token": csrf_token(client, "/tra-cuu"),
                                         "code": code})


def rotations(app) -> list[AuditEntry]:
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "rotate_receipt_code")).all()
        db.session.expunge_all()
    return entries


def test_the_reporter_replaces_the_code_on_the_status_page(app, client):
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    old = file_report(client)
    page = open_case(client, old).get_data(as_text=True)
    assert "Đổi sang mã mới" in page and 'action="/ho-so/doi-ma"' in page
    assert "Change to a new code" in client.get("/ho-so?lang=en").get_data(as_text=True)
    client.get("/ho-so?lang=vi")

    # Another browser (someone who learnt the code) has the case open too.
    other = app.test_client()
    assert open_case(other, old).status_code == 200

    new = rotate_on_the_web(client)
    assert CODE_RE.fullmatch(new) and new != old
    # Shown once only.
    again = client.get("/ho-so/ma-moi").get_data(as_text=True)
    assert new not in again and "chỉ hiện một lần" in again

    # This browser stays on its case; the other one is shut out at once.
    assert client.get("/ho-so").status_code == 200
    shut_out = other.get("/ho-so")
    assert shut_out.status_code == 302 and shut_out.headers["Location"] == "/tra-cuu"
    # The old code opens nothing any more; the new one opens the case.
    assert lookup(app.test_client(), old).status_code == 404
    assert open_case(app.test_client(), new).status_code == 200

    # Audited, with nothing about who asked.
    (entry,) = rotations(app)
    assert entry.user_id is None and entry.detail == {"channel": "web"}
    assert entry.report_id is not None
    assert ADDRESS not in repr(entry.__dict__)


def test_rotating_needs_an_open_case_and_the_form_token(app, client):
    assert client.post("/ho-so/doi-ma", data={}).status_code == 400  # no CSRF token
    token = csrf_token(client, "/tra-cuu")
    response = client.post("/ho-so/doi-ma", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/tra-cuu"
    assert rotations(app) == []


def test_the_api_replaces_the_code(app, client, openapi):  # noqa: F811
    old = file_via_api(client)
    response = client.post(ROTATE, headers=receipt(old))
    assert response.status_code == 201
    body = response.get_json()
    check(body, response_schema(openapi, ROTATE, "post", 201), openapi)
    new = body["receipt_code"]
    assert set(body) == {"receipt_code"} and CODE_RE.fullmatch(new) and new != old
    assert response.headers["Cache-Control"] == "no-store"

    assert client.get(STATUS, headers=receipt(old)).status_code == 404
    assert client.get(STATUS, headers=receipt(new)).status_code == 200
    assert client.post(ROTATE, headers=receipt(old)).status_code == 404
    assert client.post(ROTATE).status_code == 404
    (entry,) = rotations(app)
    assert entry.user_id is None and entry.detail == {"channel": "api"}

    assert openapi["paths"][ROTATE]["post"]["security"] == [{"Receipt": []}]


def test_lookups_are_limited_for_all_clients_together(app):
    """Each request from a different address: the per-client limit never bites, the global
    one does, and the web form and the API draw on the same budget."""
    app.config["LOOKUP_GLOBAL_RATE_LIMIT"] = "4 per minute"
    clients = []
    for i in range(6):
        c = app.test_client()
        c.environ_base["REMOTE_ADDR"] = f"203.0.113.{i + 1}"
        clients.append(c)
    try:
        answers = [lookup(clients[0], "7KQ2M-XR4TD-9HBNP-3WFZA").status_code,
                   lookup(clients[1], "7KQ2M-XR4TD-9HBNP-3WFZB").status_code,
                   clients[2].get(STATUS, headers=receipt("7KQ2M-XR4TD-9HBNP-3WFZC")).status_code,
                   clients[3].post(ROTATE, headers=receipt("7KQ2M")).status_code,
                   lookup(clients[4], "7KQ2M-XR4TD-9HBNP-3WFZD").status_code,
                   clients[5].get(STATUS, headers=receipt("x")).status_code]
        # Opening the lookup page is not a lookup.
        assert clients[5].get("/tra-cuu").status_code == 200
    finally:
        app.config["LOOKUP_GLOBAL_RATE_LIMIT"] = "600 per minute"
    assert answers == [404, 404, 404, 404, 429, 429]


def test_the_global_limit_defaults_to_600_per_minute(app, monkeypatch):
    from portal.config import load_config

    monkeypatch.delenv("TINBAO_LOOKUP_GLOBAL_RATE_LIMIT", raising=False)
    assert load_config(app.instance_path)["LOOKUP_GLOBAL_RATE_LIMIT"] == "600 per minute"
