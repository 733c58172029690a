"""A hand-built history of eight reports in the third quarter of 2026, for the supervision
tests. Every step goes through the real staff actions (portal/reports/handling.py) at a time
set on the test clock, so the history events and the legal deadlines are the portal's own.

- R1 crime report, land, Phường Bá Xuyên, filed Wed 01/07 09:00: to the police at 15:00,
  accepted 03/07 09:00, prosecuted 13/07 09:00 — resolved.
- R2 denunciation, land, filed Mon 06/07 09:00: to the police 08/07, returned 09/07, to the
  inspectorate 10/07, accepted 14/07 — open, past its 30-day resolution limit (13/08).
- R3 petition, not classified, filed Mon 03/08 09:00: nothing — with the Front, past its reply
  limit (17/08).
- R4 denunciation with signs of a crime, personnel, filed Tue 08/09 09:00: to the inspectorate
  at 10:00 — transferred, past the crime report's limits (11/09, 28/09).
- R5 crime report, land, signs confirmed, filed Tue 15/09 09:00: classified at 10:00 — in
  review, past the 1-working-day forwarding limit.
- R6 complaint, health, filed Sat 20/06 09:00: to the police 02/07, accepted 15/07 (late: due
  13/07), upheld 20/07 — resolved.
- R7 denunciation, filed Sun 05/07 09:00: marked spam the same day — counted nowhere.
- R8 petition, filed Wed 01/04 09:00: nothing — with the Front for over 90 days.

"Now" is Monday 05/10/2026 09:00.
"""

from datetime import date, datetime
from types import SimpleNamespace

from sqlalchemy import select, update

from portal.agencies.models import Agency
from portal.extensions import db
from portal.reports import handling, reporter
from portal.reports.models import Report, ReportEvent
from portal.supervision import facts
from portal.supervision.stats import StatsFilter
from portal.timeutil import VN_TZ
from tests.helpers import act_as, file_report

Q3 = StatsFilter(date(2026, 7, 1), date(2026, 9, 30))
NOW = (2026, 10, 5, 9)


def vn(year, month, day, hour=9, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def agency_ids(*codes) -> list[int]:
    return [db.session.scalar(select(Agency.id).where(Agency.code == code)) for code in codes]


def align_filing_times(app) -> None:
    """Give each report the filing time of its "filed" event.

    In production they are the same moment. Under the test clock the event takes the clock's
    time (portal/deadlines/services.py) while ``reports.created_at`` takes the real time, and
    the figures count filings by ``reports.created_at`` (indexed, no join).
    """
    with app.app_context():
        filed = (select(ReportEvent.created_at)
                 .where(ReportEvent.report_id == Report.id, ReportEvent.kind == "filed")
                 .scalar_subquery())
        db.session.execute(update(Report).values(created_at=filed))
        # An UPDATE of many rows bypasses the ORM and so the facts kept for the supervision
        # figures (portal/supervision/facts.py): bring them in line, as one would after
        # editing the history by hand (`flask supervision rebuild-facts`).
        facts.follow_reports(db.session.connection(), db.session.scalars(select(Report.id)))
        db.session.commit()


def file_at(app, client, clock, when, report_type, **fields) -> int:
    clock.set(*when)
    code = file_report(client, report_type=report_type, **fields)
    align_filing_times(app)
    with app.app_context():
        return reporter.find_by_code(code, app.config["SECRET_KEY"]).id


act = act_as


def build_history(app, client, make_user, clock, monkeypatch) -> SimpleNamespace:
    monkeypatch.setitem(app.config, "CLASSIFIER_ENABLED", False)
    make_user("front", "triage")
    make_user("police-officer", "agency", "tn-police")
    make_user("inspector", "agency", "tn-inspectorate")

    def at(when, rid, username, action, *args, **kwargs):
        clock.set(*when)
        return act(app, rid, username, action, *args, **kwargs)

    def classify(when, rid, report_type, sector, crime=None):
        at(when, rid, "front", handling.classify, report_type=report_type, sector=sector,
           subject="official", flags=[], crime=crime)

    def transfer(when, rid, code):
        def send(user, report):
            agency = db.session.scalar(select(Agency).where(Agency.code == code))
            handling.transfer(user, report, agency, "Chuyển theo thẩm quyền.",
                              override_reason="Lịch sử dựng cho kiểm thử.")
        at(when, rid, "front", send)

    def agency(when, rid, username, action, *args, **kwargs):
        at(when, rid, username, action, *args, **kwargs)

    h = SimpleNamespace()
    h.r8 = file_at(app, client, clock, (2026, 4, 1, 9), "petition")
    h.r6 = file_at(app, client, clock, (2026, 6, 20, 9), "complaint")
    h.r1 = file_at(app, client, clock, (2026, 7, 1, 9), "crime_report", ward_code="5533")
    classify((2026, 7, 1, 14), h.r1, "crime_report", "land")
    transfer((2026, 7, 1, 15), h.r1, "tn-police")
    classify((2026, 7, 2, 8), h.r6, "complaint", "health")
    transfer((2026, 7, 2, 9), h.r6, "tn-police")
    agency((2026, 7, 3, 9), h.r1, "police-officer", handling.accept)
    h.r7 = file_at(app, client, clock, (2026, 7, 5, 9), "denunciation")
    at((2026, 7, 5, 10), h.r7, "front", handling.mark_spam, "Tin quảng cáo.")
    h.r2 = file_at(app, client, clock, (2026, 7, 6, 9), "denunciation")
    classify((2026, 7, 7, 9), h.r2, "denunciation", "land")
    transfer((2026, 7, 8, 9), h.r2, "tn-police")
    agency((2026, 7, 9, 9), h.r2, "police-officer", handling.return_not_competent,
           "Không thuộc thẩm quyền.")
    transfer((2026, 7, 10, 9), h.r2, "tn-inspectorate")
    agency((2026, 7, 13, 9), h.r1, "police-officer", handling.resolve,
           result_text="Đã khởi tố vụ án.", outcome_code="prosecuted")
    agency((2026, 7, 14, 9), h.r2, "inspector", handling.accept)
    agency((2026, 7, 15, 9), h.r6, "police-officer", handling.accept)
    agency((2026, 7, 20, 9), h.r6, "police-officer", handling.resolve,
           result_text="Khiếu nại đúng.", outcome_code="upheld")
    h.r3 = file_at(app, client, clock, (2026, 8, 3, 9), "petition")
    h.r4 = file_at(app, client, clock, (2026, 9, 8, 9), "denunciation")
    classify((2026, 9, 8, 9, 30), h.r4, "denunciation", "personnel", crime=True)
    transfer((2026, 9, 8, 10), h.r4, "tn-inspectorate")
    h.r5 = file_at(app, client, clock, (2026, 9, 15, 9), "crime_report")
    classify((2026, 9, 15, 10), h.r5, "crime_report", "land", crime=True)
    clock.set(*NOW)
    return h
