"""Two triage officers can never both claim or transfer the same report.

The parallel tests run the real server (gunicorn from deploy/gunicorn.conf.py, four worker
processes) against the suite's database — the SQLite file or PostgreSQL — and log in several
officers with real HTTP clients. Each round, every officer fires the same action at the same
report at the same instant (a barrier): exactly one wins, the others are told clearly why not,
the database shows one claimer / one agency, and the audit chain still verifies
(docs/production.md "Concurrency").

The claim pages themselves (queue column and filters, release, reassignment, who may decide)
are driven through the test client at the end.
"""

import html
import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.audit import services as audit
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.reports import handling, reporter
from portal.reports.models import Report, ReportEvent
from tests.helpers import PASSWORD, act_as, file_report, post_form

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
WORKERS = 4
OFFICERS = 4
CRIME_TEXT = ("Cán bộ địa chính xã nhận hối lộ 50 triệu đồng để cấp sổ đỏ sai quy định cho "
              "một hộ dân ở thôn Đồng Bẩm.")
PLAIN_TEXT = ("Đường liên xã qua thôn Đồng Bẩm xuống cấp nghiêm trọng, nhiều ổ gà sâu gây nguy "
              "hiểm cho người đi đường.")
CLAIMED = "Bạn đã nhận xử lý hồ sơ này."
ALREADY_CLAIMED = "Hồ sơ này đã có người nhận xử lý: {name}"
NOT_YOURS = "Hồ sơ này đang do {name} xử lý"
TRANSFERRED = "Đã cập nhật hồ sơ."
ALREADY_TRANSFERRED = ("Không thể chuyển đến cơ quan khi hồ sơ đang ở trạng thái “Đã chuyển đến "
                       "cơ quan có thẩm quyền”.")
NOTHING_LEFT = "Không còn hồ sơ nào chưa có người nhận."
FLASH_RE = re.compile(r'<div class="notice notice-(\w+)" role="\w+">([^<]*)</div>')


# --- a real server and real HTTP clients ----------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(app, tmp_path_factory):
    """gunicorn with four workers on a free loopback port, serving the suite's database with
    the suite's keys; yields the base URL."""
    logs = tmp_path_factory.mktemp("gunicorn") / "server.log"
    port = _free_port()
    env = {**os.environ,
           "TINBAO_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "TINBAO_SECRET_KEY": "concurrency-test-secret",
           "TINBAO_KEYS_FOLDER": app.config["KEYS_FOLDER"],
           "TINBAO_KEYS_GENERATE": "0",
           "TINBAO_UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
           "TINBAO_BIND": f"127.0.0.1:{port}",
           "TINBAO_WORKERS": str(WORKERS)}
    env.pop("TINBAO_REDIS_URL", None)
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    with open(logs, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [gunicorn, "-c", str(GUNICORN_CONF), "--no-control-socket"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/staff/login", timeout=5) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, logs.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
    # Whatever went wrong in a worker shows in its log; nothing may have crashed.
    assert "Traceback" not in logs.read_text(errors="replace"), \
        logs.read_text(errors="replace")[-5000:]


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the caller sees the 302 itself


class Browser:
    """One officer's browser: its own cookies, forms posted with their CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _KeepRedirects())
        self.token = None

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        """``(status, location, body)``; redirects are not followed."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=60) as answer:
                return answer.status, answer.headers.get("Location", ""), \
                    answer.read().decode()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.headers.get("Location", ""), answer.read().decode()

    def form_token(self, path: str) -> str:
        page = self.request(path)[2]
        match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
        assert match, page[:1000]
        return match.group(1)

    def login(self, username: str) -> "Browser":
        status, location, _page = self.request("/staff/login", {
            "csrf_token": self.form_token("/staff/login"), "username": username,
            "password": PASSWORD})
        assert status == 302 and "/staff/login" not in location, (status, location)
        self.token = self.form_token("/staff/triage/")  # one token per session
        return self

    def post(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        return self.request(path, {"csrf_token": self.token, **(data or {})})

    def messages(self, path: str) -> list[tuple[str, str]]:
        """The flashed messages shown on ``path`` (the page a form action led back to)."""
        return [(kind, html.unescape(text))
                for kind, text in FLASH_RE.findall(self.request(path)[2])]


def race(actions):
    """Run the callables at the same instant, one thread each; their results, in order."""
    barrier = threading.Barrier(len(actions))
    results, errors = [None] * len(actions), []

    def run(index, action):
        try:
            barrier.wait(timeout=30)
            results[index] = action()
        except BaseException as exc:  # shown by the test, not lost in a thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


@pytest.fixture
def officers(app, make_user, server):
    """Triage officers logged in through the real server: ``[(browser, user id, name)]``."""
    team = []
    for number in range(1, OFFICERS + 1):
        username = make_user(f"can-bo-{number}", "triage")
        with app.app_context():
            user = db.session.scalar(select(User).where(User.username == username))
            user_id, name = user.id, user.display_name
        team.append((Browser(server).login(username), user_id, name))
    return team


def file_reports(app, client, texts) -> list[int]:
    ids = []
    for text in texts:
        code = file_report(client, text=text)
        with app.app_context():
            ids.append(reporter.find_by_code(code, app.config["SECRET_KEY"]).id)
    return ids


def assert_audit_chain_verifies(app) -> None:
    with app.app_context():
        verdict = audit.verify()
        assert verdict.ok, verdict


# --- the races ------------------------------------------------------------------------------

def test_parallel_claims_one_officer_wins_each_report(app, client, officers):
    report_ids = file_reports(app, client, [CRIME_TEXT] * 8)
    names = {user_id: name for _b, user_id, name in officers}
    winners = {}
    for report_id in report_ids:
        case = f"/staff/triage/cases/{report_id}"
        answers = race([lambda b=browser, c=case: b.post(f"{c}/claim")
                        for browser, _i, _n in officers])
        assert all(status == 302 and location.endswith(case) for status, location, _p in answers)
        shown = [browser.messages(case) for browser, _i, _n in officers]
        won = [user_id for (_b, user_id, _n), messages in zip(officers, shown, strict=True)
               if ("success", CLAIMED) in messages]
        assert len(won) == 1, shown
        winners[report_id] = won[0]
        losers = [messages for (_b, user_id, _n), messages in zip(officers, shown, strict=True)
                  if user_id != won[0]]
        expected = ALREADY_CLAIMED.format(name=names[won[0]])
        for messages in losers:
            assert len(messages) == 1 and messages[0][0] == "error", messages
            assert messages[0][1].startswith(expected), messages

    with app.app_context():
        rows = db.session.execute(select(Report.id, Report.claimed_by_user_id, Report.status)
                                  .where(Report.id.in_(report_ids))).all()
        assert {row.id: row.claimed_by_user_id for row in rows} == winners
        assert {row.status for row in rows} == {"in_review"}
        # One claim written per report, each by its winner; one start of review each.
        claims = db.session.execute(select(AuditEntry.report_id, AuditEntry.user_id)
                                    .where(AuditEntry.action == "claim")).all()
        assert sorted(claims) == sorted(winners.items())
        starts = db.session.scalar(select(func.count()).select_from(ReportEvent)
                                   .where(ReportEvent.kind == "start_review"))
        assert starts == len(report_ids)
    assert_audit_chain_verifies(app)


def test_parallel_transfers_the_report_goes_to_exactly_one_agency(app, client, officers):
    report_ids = file_reports(app, client, [CRIME_TEXT] * 8)
    with app.app_context():
        agencies = db.session.scalars(select(Agency.id).where(Agency.code.in_(
            ["tn-police", "tn-procuracy", "tn-inspectorate", "tn-people-committee"]))).all()
    first_name = officers[0][2]
    for round_number, report_id in enumerate(report_ids):
        act_as(app, report_id, "can-bo-1", handling.classify, report_type="denunciation",
               sector="land", subject="official", flags=[], crime=True)
        claimed_first = round_number % 2 == 1
        if claimed_first:  # every other round the first officer has claimed the report
            act_as(app, report_id, "can-bo-1", handling.claim)
        case = f"/staff/triage/cases/{report_id}"
        answers = race([
            lambda b=browser, agency=agency, c=case: b.post(f"{c}/transfer", {
                "agency_id": agency, "body": "Có dấu hiệu tội phạm, thuộc thẩm quyền.",
                "override_reason": "Phân công theo địa bàn."})
            for (browser, _i, _n), agency in zip(officers, agencies, strict=True)])
        assert all(status == 302 for status, _l, _p in answers), [a[:2] for a in answers]
        shown = [browser.messages(case) for browser, _i, _n in officers]
        won = [index for index, messages in enumerate(shown)
               if ("success", TRANSFERRED) in messages]
        assert len(won) == 1, shown
        if claimed_first:
            assert won == [0], shown
        for index, messages in enumerate(shown):
            if index == won[0]:
                continue
            assert len(messages) == 1 and messages[0][0] == "error", messages
            assert messages[0][1] == ALREADY_TRANSFERRED or (
                claimed_first and messages[0][1].startswith(NOT_YOURS.format(name=first_name))
            ), messages
        with app.app_context():
            report = db.session.get(Report, report_id)
            transfers = [e for e in report.events if e.kind == "transfer"]
            assert report.status == "transferred" and len(transfers) == 1
            assert report.current_agency_id == transfers[0].agency_id == agencies[won[0]]
            assert report.claimed_by_user_id is None  # the claim ended with the transfer
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "transfer")) == len(report_ids)
    assert_audit_chain_verifies(app)


def test_parallel_take_next_hands_each_officer_a_different_report(app, client, officers):
    # Filed oldest first: plain, crime, plain, crime…; the queue puts crime signs first.
    texts = [CRIME_TEXT if number % 2 else PLAIN_TEXT for number in range(12)]
    report_ids = file_reports(app, client, texts)
    crime_ids = [rid for rid, text in zip(report_ids, texts, strict=True) if text == CRIME_TEXT]
    plain_ids = [rid for rid, text in zip(report_ids, texts, strict=True) if text == PLAIN_TEXT]
    queue_order = crime_ids + plain_ids

    handed = []
    for round_number in range(len(report_ids) // OFFICERS):
        answers = race([lambda b=browser: b.post("/staff/triage/next")
                        for browser, _i, _n in officers])
        taken = []
        for status, location, _page in answers:
            assert status == 302, (status, location)
            match = re.search(r"/staff/triage/cases/(\d+)$", location)
            assert match, location
            taken.append(int(match.group(1)))
        assert len(set(taken)) == OFFICERS, taken  # nobody got a report somebody else got
        # Together they took the next four in the queue's order, whoever got which.
        start = round_number * OFFICERS
        assert sorted(taken) == sorted(queue_order[start:start + OFFICERS])
        handed.append(list(zip([user_id for _b, user_id, _n in officers], taken, strict=True)))

    with app.app_context():
        claimed = dict(db.session.execute(select(Report.id, Report.claimed_by_user_id)).all())
    assert claimed == {report_id: user_id for batch in handed for user_id, report_id in batch}

    # The queue is empty now: everyone pressing again is told so, nothing changes.
    answers = race([lambda b=browser: b.post("/staff/triage/next")
                    for browser, _i, _n in officers])
    assert all(location.endswith("/staff/triage/") for _s, location, _p in answers)
    for browser, _i, _n in officers:
        assert ("success", NOTHING_LEFT) in browser.messages("/staff/triage/")
    with app.app_context():
        assert dict(db.session.execute(select(Report.id, Report.claimed_by_user_id)).all()) \
            == claimed
    assert_audit_chain_verifies(app)


# --- claims through the pages (test client) -------------------------------------------------

def _user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def _case_text(response) -> str:
    page = response.get_data(as_text=True)
    return html.unescape(page[page.index("<main"):page.index("</main>")])


def test_claim_shows_in_the_queue_and_filters_mine_and_unclaimed(app, client, staff):
    first, second = file_reports(app, client, [CRIME_TEXT, PLAIN_TEXT])
    lan = staff("triage", username="lan")
    binh = staff("triage", username="binh")
    queue = "/staff/triage/"
    case = f"/staff/triage/cases/{first}"
    assert "Chưa ai nhận xử lý." in _case_text(lan.get(case))

    response = post_form(lan, f"{case}/claim", token_from=case)
    assert response.status_code == 302
    assert "Bạn đang xử lý hồ sơ này" in _case_text(lan.get(case))
    assert "Đang do lan xử lý" in _case_text(binh.get(case))

    def listed(client, query):
        page = client.get(queue + query).get_data(as_text=True)
        return {int(n) for n in re.findall(r'href="/staff/triage/cases/(\d+)"', page)}

    assert listed(lan, "?claim=mine") == {first}
    assert listed(binh, "?claim=mine") == set()
    assert listed(binh, "?claim=none") == {second}
    assert listed(binh, "") == {first, second}
    row = re.search(rf'cases/{first}".*?</tr>', binh.get(queue).get_data(as_text=True), re.S)
    assert f'data-claimed-by="{_user_id(app, "lan")}"' in row.group(0)
    assert "lan" in row.group(0)


def test_only_the_claimer_decides_others_may_still_add_notes(app, client, staff):
    (report_id,) = file_reports(app, client, [CRIME_TEXT])
    lan = staff("triage", username="lan")
    binh = staff("triage", username="binh")
    case = f"/staff/triage/cases/{report_id}"
    post_form(lan, f"{case}/claim", token_from=case)

    # Binh's page has no deciding forms, only notes and messages.
    page = binh.get(case).get_data(as_text=True)
    for action in ("classify", "transfer", "spam", "merge", "redaction"):
        assert f'action="{case}/{action}"' not in page, action
    assert f'action="{case}/note"' in page
    # A form posted anyway (a page opened before Lan claimed) is refused, naming who has it.
    response = post_form(binh, f"{case}/spam", {"body": "Tin rác"}, token_from=case)
    assert response.status_code == 302
    assert "Hồ sơ này đang do lan xử lý" in _case_text(binh.get(case))
    response = post_form(binh, f"{case}/claim", token_from=case)
    assert "Hồ sơ này đã có người nhận xử lý: lan" in _case_text(binh.get(case))
    post_form(binh, f"{case}/note", {"body": "Đã gọi xác minh."}, token_from=case)
    with app.app_context():
        report = db.session.get(Report, report_id)
        assert report.status == "in_review" and len(report.notes) == 1
        assert report.claimed_by_user_id == _user_id(app, "lan")

    # Binh cannot release Lan's claim; Lan can, and then Binh may claim it.
    post_form(binh, f"{case}/release", token_from=case)
    assert "Hồ sơ này đang do lan xử lý" in _case_text(binh.get(case))
    post_form(lan, f"{case}/release", token_from=case)
    assert "Hồ sơ đã được trả về hàng chờ." in _case_text(lan.get(case))
    post_form(binh, f"{case}/claim", token_from=case)
    with app.app_context():
        assert db.session.get(Report, report_id).claimed_by_user_id == _user_id(app, "binh")
        actions = db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.in_(["claim", "release"])).order_by(AuditEntry.seq)).all()
        assert actions == ["claim", "release", "claim"]


def test_a_supervisor_releases_or_reassigns_a_claim(app, client, staff):
    (report_id,) = file_reports(app, client, [CRIME_TEXT])
    lan = staff("triage", username="lan")
    staff("triage", username="binh")
    chief = staff("supervisor", username="truong-ban")
    case = f"/staff/triage/cases/{report_id}"
    post_form(lan, f"{case}/claim", token_from=case)

    page = chief.get(case).get_data(as_text=True)
    assert f'action="/staff/supervision/cases/{report_id}/reassign"' in page
    binh_id = _user_id(app, "binh")
    response = post_form(chief, f"/staff/supervision/cases/{report_id}/reassign",
                         {"officer_id": binh_id}, token_from=case)
    assert response.status_code == 302
    assert "Đã giao hồ sơ cho cán bộ được chọn." in _case_text(chief.get(case))
    with app.app_context():
        assert db.session.get(Report, report_id).claimed_by_user_id == binh_id
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reassign"))
        assert entry.detail["from_user_id"] == _user_id(app, "lan")
        assert entry.detail["to_user_id"] == binh_id
    post_form(chief, f"/staff/supervision/cases/{report_id}/release", token_from=case)
    with app.app_context():
        assert db.session.get(Report, report_id).claimed_by_user_id is None
    # Triage officers do not reach the supervisors' claim actions.
    assert post_form(lan, f"/staff/supervision/cases/{report_id}/reassign",
                     {"officer_id": _user_id(app, "lan")}, token_from=case).status_code == 403


def test_claim_buttons_need_the_csrf_token(app, client, staff):
    (report_id,) = file_reports(app, client, [CRIME_TEXT])
    lan = staff("triage", username="lan")
    lan.get("/staff/triage/")
    for path in (f"/staff/triage/cases/{report_id}/claim", "/staff/triage/next"):
        assert lan.post(path, data={}).status_code == 400
    with app.app_context():
        assert db.session.get(Report, report_id).claimed_by_user_id is None


def test_take_next_opens_the_report_and_keeps_it_through_the_case_page(app, client, staff):
    plain, crime = file_reports(app, client, [PLAIN_TEXT, CRIME_TEXT])
    lan = staff("triage", username="lan")
    queue = "/staff/triage/"
    response = post_form(lan, "/staff/triage/next", token_from=queue)
    # Signs of a crime first, although filed later.
    assert response.headers["Location"] == f"/staff/triage/cases/{crime}"
    page = _case_text(lan.get(response.headers["Location"]))
    assert "Bạn đã nhận xử lý hồ sơ" in page and "Bạn đang xử lý hồ sơ này" in page
    with app.app_context():
        assert db.session.get(Report, plain).claimed_by_user_id is None
    # The page that lists the buttons is reachable by keyboard: plain forms and buttons.
    page = lan.get(queue).get_data(as_text=True)
    assert re.search(r'<form method="post" action="/staff/triage/next"[^>]*>\s*<input '
                     r'type="hidden" name="csrf_token"', page)
    assert '<button type="submit" class="button">Nhận hồ sơ tiếp theo</button>' in page
