"""Who may open what in the back office: every route, every role, and no case reachable by an
agency that does not hold it (no IDOR)."""

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.extensions import db
from portal.reports import reporter
from portal.reports.models import Attachment
from tests.functional.test_public_flow import PNG
from tests.helpers import csrf_token, file_report, open_case, post_form

BACKOFFICE_AREAS = ("triage", "agency", "admin", "supervision", "files", "custodian")
ROLES = ("triage", "supervisor", "admin", "police", "procuracy", "custodian")


def backoffice_routes(app) -> list[tuple[str, str, str]]:
    """``(endpoint, method, rule)`` for every back-office route the app serves."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in BACKOFFICE_AREAS or rule.endpoint == "auth.home":
            for method in sorted(rule.methods & {"GET", "POST"}):
                routes.append((rule.endpoint, method, rule.rule))
    return sorted(routes)


def fill(rule: str, ids: dict) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(ids[m.group(1)]), rule)


def expected(role: str, endpoint: str, method: str) -> str:
    """What each role should get: "ok", "forbidden" (403) or "not_found" (404).

    ``police`` is the agency user whose agency holds the case, ``procuracy`` another agency's.
    """
    area = endpoint.split(".")[0]
    agency_user = role in ("police", "procuracy")
    if endpoint == "auth.home":
        return "ok"
    if area == "triage":
        readers = ("triage", "supervisor", "admin") if method == "GET" else ("triage",)
        return "ok" if role in readers else "forbidden"
    if area == "agency":
        if not agency_user:
            return "forbidden"
        if endpoint == "agency.inbox" or role == "police":
            return "ok"
        return "not_found"
    if area == "admin":
        return "ok" if role == "admin" else "forbidden"
    if area == "supervision":
        return "ok" if role in ("supervisor", "admin") else "forbidden"
    if area == "files":
        if role == "custodian":  # keeps identities, does not read cases
            return "forbidden"
        return "not_found" if role == "procuracy" else "ok"
    if area == "custodian":
        return "ok" if role == "custodian" else "forbidden"
    raise AssertionError(f"no access rule written for {endpoint}: add it to this test")


@pytest.fixture
def world(app, client, staff, make_user):
    """A report with an attachment, transferred to the provincial police, and one client per
    role (``police`` holds the case; ``procuracy`` is another agency)."""
    code = file_report(client, identity_choice="named", name="Nguyễn Văn An",
                       attachments=[(io.BytesIO(PNG), "ảnh chụp biên nhận.png")])
    clients = {
        "triage": staff("triage"),
        "supervisor": staff("supervisor"),
        "admin": staff("admin"),
        "police": staff("agency", "tn-police"),
        "procuracy": staff("agency", "tn-procuracy"),
        "custodian": staff("custodian"),
    }
    make_user("throwaway", "supervisor")
    with app.app_context():
        report = reporter.find_by_code(code, app.config["SECRET_KEY"])
        ids = {
            "report_id": report.id,
            "attachment_id": db.session.scalar(select(Attachment.id)),
            "user_id": db.session.scalar(select(User.id).where(User.username == "throwaway")),
            "agency_id": db.session.scalar(select(Agency.id).where(Agency.code == "tn-front")),
            "police_id": db.session.scalar(select(Agency.id).where(Agency.code == "tn-police")),
        }
    case = f"/staff/triage/cases/{ids['report_id']}"
    triage = clients["triage"]
    post_form(triage, f"{case}/classify", {"report_type": "crime_report", "sector": "land",
                                           "subject": "official", "crime": ""}, token_from=case)
    post_form(triage, f"{case}/transfer", {"agency_id": ids["police_id"],
                                           "body": "Dấu hiệu tội nhận hối lộ."}, token_from=case)
    assert f"/staff/agency/cases/{ids['report_id']}" in clients["police"].get(
        "/staff/agency/").get_data(as_text=True)
    return code, ids, clients


def main_content(response) -> str:
    page = response.get_data(as_text=True)
    return page[page.index("<main"):page.index("</main>")]


def call(client, method: str, path: str, token_page: str):
    if method == "GET":
        return client.get(path)
    # A valid CSRF token, so that what is tested is the access rule, not the token check.
    return client.post(path, data={"csrf_token": csrf_token(client, token_page)})


def test_every_backoffice_route_is_behind_login(app, world):
    _code, ids, _clients = world
    routes = backoffice_routes(app)
    endpoints = {endpoint for endpoint, _m, _r in routes}
    # The list comes from the app itself; make sure it is the real one.
    assert {"auth.home", "triage.queue", "triage.case", "triage.transfer", "agency.inbox",
            "agency.case", "agency.accept", "admin.users", "admin.toggle_user",
            "supervision.overview", "files.download"} <= endpoints
    for endpoint, method, rule in routes:
        anonymous = app.test_client()
        response = call(anonymous, method, fill(rule, ids), "/staff/login")
        assert response.status_code == 302, (endpoint, method)
        assert response.headers["Location"].startswith("/staff/login"), (endpoint, method)


def test_each_role_reaches_only_its_own_pages(app, world):
    _code, ids, clients = world
    token_page = {role: ("/staff/agency/" if role in ("police", "procuracy") else "/staff/")
                  for role in ROLES}
    token_page.update(triage="/staff/triage/", supervisor="/staff/supervision/",
                      admin="/staff/admin/users", custodian="/staff/custodian/")
    checked = 0
    for endpoint, method, rule in backoffice_routes(app):
        path = fill(rule, ids)
        for role in ROLES:
            response = call(clients[role], method, path, token_page[role])
            want = expected(role, endpoint, method)
            where = (role, endpoint, method, response.status_code)
            if want == "forbidden":
                assert response.status_code == 403, where
                assert "Tài khoản của bạn không có quyền xem trang này." in response.get_data(
                    as_text=True)
            elif want == "not_found":
                assert response.status_code == 404, where
            else:
                assert response.status_code in (200, 302), where
                assert not response.headers.get("Location", "").startswith("/staff/login"), where
            checked += 1
    assert checked >= 5 * 25


def test_only_triage_sees_the_action_forms_on_the_case_page(world):
    _code, ids, clients = world
    case = f"/staff/triage/cases/{ids['report_id']}"
    for role in ("supervisor", "admin"):
        page = clients[role].get(case).get_data(as_text=True)
        assert "Dấu hiệu tội nhận hối lộ." in page  # they read the case, reasons included
        assert f'action="{case}/' not in page
    assert f'action="{case}/note"' in clients["triage"].get(case).get_data(as_text=True)


def test_agency_gets_404_for_any_case_it_does_not_hold(app, client, world):
    _code, ids, clients = world
    police, procuracy = clients["police"], clients["procuracy"]
    rid, aid = ids["report_id"], ids["attachment_id"]
    missing = police.get("/staff/agency/cases/999999")
    assert missing.status_code == 404

    inbox = "/staff/agency/"
    # Another agency: not in its inbox, and the case, its actions and its files all 404,
    # with the very same page as a case that does not exist.
    assert f"/staff/agency/cases/{rid}" not in procuracy.get(inbox).get_data(as_text=True)
    other = procuracy.get(f"/staff/agency/cases/{rid}")
    assert other.status_code == 404
    assert main_content(other) == main_content(procuracy.get("/staff/agency/cases/999999"))
    assert procuracy.get(f"/staff/files/{aid}").status_code == 404
    for action in ("accept", "return", "message", "resolve"):
        response = post_form(procuracy, f"/staff/agency/cases/{rid}/{action}",
                             {"body": "Thử", "outcome_code": "withdrawn"}, token_from=inbox)
        assert response.status_code == 404, action
    with app.app_context():
        from portal.reports.models import Report

        report = db.session.get(Report, rid)
        assert report.status == "transferred" and report.messages == []

    # A case still with the Front is no agency's.
    code = file_report(client, attachments=[(io.BytesIO(PNG), "khac.png")])
    with app.app_context():
        fresh = reporter.find_by_code(code, app.config["SECRET_KEY"])
        fresh_id, fresh_file = fresh.id, fresh.attachments[0].id
    for agency in (police, procuracy):
        assert agency.get(f"/staff/agency/cases/{fresh_id}").status_code == 404
        assert agency.get(f"/staff/files/{fresh_file}").status_code == 404

    # Once the holder returns it, the holder loses access too.
    response = post_form(police, f"/staff/agency/cases/{rid}/return",
                         {"body": "Không thuộc thẩm quyền."},
                         token_from=f"/staff/agency/cases/{rid}")
    assert response.status_code == 302
    assert police.get(f"/staff/agency/cases/{rid}").status_code == 404
    assert police.get(f"/staff/files/{aid}").status_code == 404


def test_attachments_download_as_opaque_files(world):
    _code, ids, clients = world
    for role in ("triage", "supervisor", "admin", "police"):
        response = clients[role].get(f"/staff/files/{ids['attachment_id']}")
        assert response.status_code == 200, role
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.mimetype == "application/octet-stream"
        # The stored file is the uploaded picture with its metadata removed (portal/scrub.py).
        received = Image.open(io.BytesIO(response.get_data()))
        assert received.tobytes() == Image.open(io.BytesIO(PNG)).tobytes()
    # The agency's case page links the file without showing who sent it.
    page = clients["police"].get(f"/staff/agency/cases/{ids['report_id']}").get_data(as_text=True)
    assert f'href="/staff/files/{ids["attachment_id"]}"' in page
    assert "Nguyễn Văn An" not in page


def cookie_names(response) -> set[str]:
    return {header.split("=", 1)[0] for header in response.headers.getlist("Set-Cookie")}


def test_staff_and_public_sessions_live_in_different_cookies(app, client, make_user):
    make_user("canbo", "triage")
    staff_client = app.test_client()
    token = csrf_token(staff_client, "/staff/login")
    login = staff_client.post("/staff/login", data={"csrf_token": token, "username": "canbo",
                                                    "password": "correct horse battery staple"})
    assert login.status_code == 302
    staff_cookies = cookie_names(login)
    assert staff_cookies and all(name.endswith("_staff") for name in staff_cookies)
    for header in login.headers.getlist("Set-Cookie"):
        assert "HttpOnly" in header and "SameSite=Lax" in header

    code = file_report(client)
    token = csrf_token(client, "/tra-cuu")
    lookup = client.post("/tra-cuu", data={"csrf_token": token, "code": code})
    assert lookup.status_code == 302
    public_cookies = cookie_names(lookup)
    assert public_cookies and not any(name.endswith("_staff") for name in public_cookies)
    assert not public_cookies & staff_cookies

    # A staff session presented under the public cookie's name opens nothing in the back office.
    (staff_name,) = staff_cookies
    value = staff_client.get_cookie(staff_name).value
    stranger = app.test_client()
    stranger.set_cookie(next(iter(public_cookies)), value)
    response = stranger.get("/staff/triage/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
    # And the reporter's case cookie does not open the back office either.
    assert client.get("/staff/triage/").status_code == 302
    assert open_case(client, code).status_code == 200
