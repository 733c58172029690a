"""Every back-office page that shows a case, a part of one or a file writes an audit entry
naming the staff member (Luật Tố cáo 2018, Art. 49: access is by role and logged). Found by
walking the URL map, so a page added later is checked too."""

import io

from sqlalchemy import func, select

from portal.accounts.models import ROLES, User
from portal.agencies.models import Agency
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.reports import handling, reporter
from tests.functional.test_public_flow import PNG
from tests.helpers import file_report, login


def entries_since(app, last_id: int) -> list[AuditEntry]:
    with app.app_context():
        found = db.session.scalars(select(AuditEntry).where(AuditEntry.id > last_id)).all()
        db.session.expunge_all()
    return found


def last_entry_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(AuditEntry.id))) or 0


def test_every_staff_page_showing_a_case_or_file_is_audited(app, client, make_user):
    code = file_report(client, identity_choice="named", name="Vũ Thị Kiểm Tra",
                       attachments=[(io.BytesIO(PNG), "anh.png")])
    make_user("audit.walk.triage", "triage")
    with app.app_context():
        report = reporter.find_by_code(code, app.config["SECRET_KEY"])
        triage = db.session.scalar(select(User).where(User.username == "audit.walk.triage"))
        police = db.session.scalar(select(Agency).where(Agency.code == "tn-police"))
        handling.classify(triage, report, report_type="crime_report", sector="land",
                          subject="official", flags=[], crime=True)
        handling.transfer(triage, report, police, "Dấu hiệu tội phạm.")
        ids = {"report_id": report.id, "attachment_id": report.attachments[0].id}
        db.session.remove()

    clients = {}
    for role in ROLES:
        username = f"audit.walk.{role}"
        if role != "triage":
            make_user(username, role, "tn-police" if role == "agency" else None)
        staff_client = app.test_client()
        assert login(staff_client, username).status_code == 302
        with app.app_context():
            clients[role] = (staff_client, db.session.scalar(
                select(User.id).where(User.username == username)))

    case_pages = [rule for rule in app.url_map.iter_rules()
                  if rule.rule.startswith("/staff") and "GET" in rule.methods
                  and set(rule.arguments) & set(ids)]
    assert {r.endpoint for r in case_pages} >= {"triage.case", "agency.case", "files.download"}
    shown = set()
    for rule in case_pages:
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<int:{name}>", str(ids[name]))
        for role, (staff_client, user_id) in clients.items():
            before = last_entry_id(app)
            response = staff_client.get(url)
            if response.status_code != 200:
                continue
            shown.add(rule.endpoint)
            logged = [(e.user_id, e.report_id) for e in entries_since(app, before)]
            assert (user_id, ids["report_id"]) in logged, (url, role)
    # Each such page was shown to some role (and so checked), none skipped by an error.
    assert shown == {rule.endpoint for rule in case_pages}

    # The lists show each case's opening words: which cases were shown is logged too.
    for role, url in (("triage", "/staff/triage/?status=all"), ("agency", "/staff/agency/")):
        staff_client, user_id = clients[role]
        before = last_entry_id(app)
        assert staff_client.get(url).status_code == 200
        (entry,) = [e for e in entries_since(app, before) if e.action == "view_list"]
        assert entry.user_id == user_id and entry.detail["report_ids"] == [ids["report_id"]]
