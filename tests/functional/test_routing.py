"""Routing on the triage case page: the rules' suggestion beside the transfer form, confirming
or overriding it (with a reason), the rule recorded on the transfer, returns and re-routes
counted, and a report never with two agencies at once. Through the pages, CSRF on; the test
app's stub classifier (tests/helpers.py) reads the reports."""

import re

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.reports import handling, status
from portal.reports.models import Report, ReportEvent
from portal.routing import services as routing
from tests.functional.test_backoffice import (
    IDENTITY,
    POLICE,
    POLICE_NAME,
    PROCURACY,
    agency_do,
    agency_id,
    alerts,
    case_url,
    classify,
    report_id,
    snapshot,
    transfer,
    triage_do,
)
from tests.helpers import file_report

BRIBE = ("Cán bộ địa chính xã Tân Cương nhận hối lộ 50 triệu đồng để cấp sổ đỏ sai quy định "
         "cho một hộ dân ở xóm Chè.")
HASSLE = ("Cán bộ địa chính xã Tân Cương nhiều lần gây khó khăn, hạch sách người dân khi làm "
          "thủ tục sang tên sổ đỏ, hẹn lên hẹn xuống.")
TAN_CUONG = "5503"
OVERRIDE = "Người bị tố giác là cán bộ tư pháp biệt phái: thuộc thẩm quyền Viện kiểm sát."


def filed(app, client, text=BRIBE, **fields) -> int:
    return report_id(app, file_report(client, text=text, **fields))


def events(app, rid: int, kind: str) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(select(ReportEvent).where(
            ReportEvent.report_id == rid, ReportEvent.kind == kind).order_by(ReportEvent.id))
        return [{"agency_id": e.agency_id, "rule": e.routing_rule,
                 "suggested": e.suggested_agency_id, "override": e.override_reason,
                 "reason": e.reason} for e in rows]


def audited(app, rid: int, action: str) -> list[dict]:
    with app.app_context():
        return [entry.detail for entry in db.session.scalars(
            select(AuditEntry).where(AuditEntry.report_id == rid, AuditEntry.action == action)
            .order_by(AuditEntry.seq))]


def selected_agency(page: str) -> str | None:
    select_html = re.search(r'<select[^>]*name="agency_id".*?</select>', page, re.S).group(0)
    match = re.search(r'<option selected value="(\d+)"', select_html)
    return match.group(1) if match else None


def test_the_case_page_shows_the_suggestion_with_its_reasoning_and_preselects_it(
        app, client, staff):
    rid = filed(app, client)
    triage = staff("triage")
    page = triage.get(case_url(rid)).get_data(as_text=True)
    section = page[page.index('data-rule="R3"'):page.index("Chuyển đến một cơ quan")]
    assert "Gợi ý cơ quan nhận" in section
    assert POLICE_NAME in section
    assert "R3: Tố giác, tin báo về tội phạm: Cơ quan Cảnh sát điều tra Công an tỉnh" in section
    assert "Bộ luật Tố tụng hình sự 2015, Điều 145, 146 và Điều 163 khoản 1" in section
    # The reasoning names the facts behind the rule: here the classifier's Penal Code article.
    assert "Dấu hiệu tội phạm: có (Điều 354 Bộ luật Hình sự)" in section
    assert "phiên bản 2026.1" in section
    assert selected_agency(page) == str(agency_id(app, POLICE))
    # The transfer reason starts as the rule and its legal basis (the officer may edit it).
    assert "R3: Bộ luật Tố tụng hình sự 2015" in page[page.index('name="body"'):]

    # Supervisors read the case but do not transfer: no form, no suggestion panel.
    assert 'data-rule="R3"' not in staff("supervisor").get(case_url(rid)).get_data(
        as_text=True)


def test_before_classification_the_suggestion_follows_the_classifier(app, client, staff):
    rid = filed(app, client, text=HASSLE, ward_code=TAN_CUONG, identity_choice="named",
                **IDENTITY)
    page = staff("triage").get(case_url(rid)).get_data(as_text=True)
    # The stub reads a denunciation of an official without signs of a crime; the reporter
    # is named and gave the commune: rule 5, that commune's People's Committee.
    assert 'data-rule="R5-commune"' in page
    assert "Ủy ban nhân dân Xã Tân Cương" in page
    assert selected_agency(page) == str(agency_id(app, "tn-5503-pc"))
    assert "Loại đơn: Tố cáo (máy gợi ý)" in page

    # The same report filed anonymously: rule 8 (not processed as a denunciation).
    other = filed(app, client, text=HASSLE, ward_code=TAN_CUONG)
    page = staff("triage", username="triage-2").get(case_url(other)).get_data(as_text=True)
    assert 'data-rule="R8-vague"' in page or 'data-rule="R8"' in page


def test_confirming_the_suggestion_records_the_rule(app, client, staff):
    rid = filed(app, client)
    triage = staff("triage")
    classify(triage, rid)
    page = transfer(triage, app, rid, POLICE)
    assert "Đã cập nhật hồ sơ." in page
    police_id = agency_id(app, POLICE)
    assert events(app, rid, "transfer") == [{
        "agency_id": police_id, "rule": "R3", "suggested": police_id, "override": None,
        "reason": "Có dấu hiệu tội nhận hối lộ (Điều 354 BLHS); chuyển theo Điều 145 BLTTHS."}]
    (detail,) = audited(app, rid, "transfer")
    assert detail["rule"] == "R3" and detail["rules_version"] == "2026.1"
    assert detail["suggested_agency_id"] == police_id and detail["agency_id"] == police_id
    assert detail["override"] is False and detail["override_reason"] is None
    assert "quy tắc R3" in page  # in the case's timeline


def test_choosing_another_agency_needs_a_reason_and_stores_nothing_without_one(
        app, client, staff):
    rid = filed(app, client)
    triage = staff("triage")
    classify(triage, rid)
    before = snapshot(app, rid)
    page = transfer(triage, app, rid, PROCURACY)
    assert (f"Cơ quan được chọn khác với gợi ý ({POLICE_NAME}, quy tắc R3): vui lòng ghi lý do "
            "không theo gợi ý.") in alerts(page)
    assert snapshot(app, rid) == before
    page = transfer(triage, app, rid, PROCURACY, override_reason="   ")
    assert len(alerts(page)) == 1 and snapshot(app, rid) == before

    page = transfer(triage, app, rid, PROCURACY, override_reason=OVERRIDE)
    assert "Đã cập nhật hồ sơ." in page
    assert snapshot(app, rid)["agency"] == PROCURACY
    (event,) = events(app, rid, "transfer")
    assert (event["rule"], event["suggested"], event["override"]) == (
        "R3", agency_id(app, POLICE), OVERRIDE)
    (detail,) = audited(app, rid, "transfer")
    assert detail["override"] is True and detail["override_reason"] == OVERRIDE
    assert f"không theo gợi ý: <span class=\"pre\">{OVERRIDE}</span>" in page
    # The agency never sees the Front's reasons, the rule or the override.
    page = staff("agency", PROCURACY).get(f"/staff/agency/cases/{rid}").get_data(as_text=True)
    assert OVERRIDE not in page and "quy tắc R3" not in page


def test_a_suggestion_without_a_concrete_body_accepts_any_body_of_its_kind(app, client, staff):
    # No commune given: rule 5 names the commune's People's Committee but cannot pick one.
    rid = filed(app, client, text=HASSLE, identity_choice="named", **IDENTITY)
    triage = staff("triage")
    classify(triage, rid, report_type="denunciation", sector="land", subject="official",
             flags=())
    page = triage.get(case_url(rid)).get_data(as_text=True)
    assert 'data-rule="R5-commune"' in page and "chưa chọn được cơ quan cụ thể" in page
    assert selected_agency(page) is None
    page = transfer(triage, app, rid, "tn-5503-pc", reason="Cán bộ của UBND xã Tân Cương.")
    assert "Đã cập nhật hồ sơ." in page
    assert events(app, rid, "transfer")[0]["override"] is None
    assert events(app, rid, "transfer")[0]["suggested"] is None


def test_when_no_rule_applies_the_officer_decides_without_an_override(app, client, staff):
    rid = filed(app, client)
    triage = staff("triage")
    # A "crime report" in which staff found no signs of a crime: no rule of routing.md applies.
    triage_do(triage, rid, "classify", report_type="crime_report", sector="land",
              subject="official", flags=[], crime="no")
    page = triage.get(case_url(rid)).get_data(as_text=True)
    assert 'data-rule="R0"' in page and selected_agency(page) is None
    page = transfer(triage, app, rid, "tn-inspectorate", reason="Xác minh việc cấp sổ đỏ.")
    assert "Đã cập nhật hồ sơ." in page
    assert events(app, rid, "transfer")[0]["rule"] == "R0"
    assert events(app, rid, "transfer")[0]["override"] is None


def test_returns_and_reroutes_are_counted_on_the_case_and_in_the_misrouting_rate(
        app, client, staff):
    rid = filed(app, client)
    other = filed(app, client)
    triage = staff("triage")
    police = staff("agency", POLICE)
    for case in (rid, other):
        classify(triage, case)
        transfer(triage, app, case, POLICE)
    agency_do(police, rid, "return", body="Người bị tố giác là cán bộ tư pháp.")

    page = triage.get(case_url(rid)).get_data(as_text=True)
    assert ("Đã chuyển 1 lần; bị trả lại vì không đúng thẩm quyền 1 lần; rút lại 0 lần; không "
            "theo gợi ý 0 lần.") in page
    assert f"Cơ quan đã trả lại: {POLICE_NAME}" in page
    # The rules still say police; the panel warns that the police returned it.
    assert "Cơ quan này đã trả lại hồ sơ vì không đúng thẩm quyền" in page

    transfer(triage, app, rid, PROCURACY, override_reason=OVERRIDE)
    with app.app_context():
        report = db.session.get(Report, rid)
        history = routing.routing_history(report)
        assert (history.transfers, history.returns, history.reroutes, history.overrides) == (
            2, 1, 1, 1)
        assert history.returned_by == ((agency_id(app, POLICE), POLICE_NAME),)
        rate = routing.misrouting_rate()
    assert (rate.transfers, rate.returns, rate.overrides, rate.rate) == (3, 1, 1, 1 / 3)
    assert rate.by_rule == {"R3": (3, 1)}
    page = triage.get(case_url(rid)).get_data(as_text=True)
    assert 'data-transfers="2" data-returns="1"' in page


def test_the_case_page_speaks_english_too(app, client, staff):
    rid = filed(app, client)
    page = staff("triage").get(case_url(rid) + "?lang=en").get_data(as_text=True)
    assert "Suggested receiving agency" in page
    assert "Signs of a crime: yes" in page
    assert "Gợi ý cơ quan nhận" not in page


# --- one agency at a time ---------------------------------------------------------------------

def test_a_report_is_with_at_most_one_agency_through_every_move(app, client, staff):
    """Walk a case through every move an agency can be part of; after each, the report is with
    exactly one agency while transferred or accepted, and with none while the Front holds it."""
    rid = filed(app, client)
    triage = staff("triage")
    police = staff("agency", POLICE)
    procuracy = staff("agency", PROCURACY)

    def holders() -> tuple[str, str | None, list[str]]:
        state = snapshot(app, rid)
        seeing = [code for code, user in ((POLICE, police), (PROCURACY, procuracy))
                  if user.get(f"/staff/agency/cases/{rid}").status_code == 200]
        return state["status"], state["agency"], seeing

    classify(triage, rid)
    assert holders() == ("in_review", None, [])
    transfer(triage, app, rid, POLICE)
    assert holders() == ("transferred", POLICE, [POLICE])

    # While an agency holds it, the status machine refuses any second transfer, whatever the
    # rules or the officer say (the refusal comes before the suggestion is even considered).
    before = snapshot(app, rid)
    page = transfer(triage, app, rid, PROCURACY, override_reason=OVERRIDE)
    assert ("Không thể chuyển đến cơ quan khi hồ sơ đang ở trạng thái “Đã chuyển đến cơ quan "
            "có thẩm quyền”.") in alerts(page)
    assert snapshot(app, rid) == before

    # Taking it back first is the way: withdraw, then transfer again.
    triage_do(triage, rid, "withdraw", body="Xem lại thẩm quyền.")
    assert holders() == ("in_review", None, [])
    transfer(triage, app, rid, PROCURACY, override_reason=OVERRIDE)
    assert holders() == ("transferred", PROCURACY, [PROCURACY])

    agency_do(procuracy, rid, "accept")
    assert holders() == ("accepted", PROCURACY, [PROCURACY])
    page = transfer(triage, app, rid, POLICE)
    assert "Không thể chuyển đến cơ quan khi hồ sơ đang ở trạng thái" in alerts(page)[0]
    assert holders() == ("accepted", PROCURACY, [PROCURACY])

    agency_do(procuracy, rid, "return", body="Không thuộc thẩm quyền.")
    assert holders() == ("returned", None, [])
    transfer(triage, app, rid, POLICE)
    assert holders() == ("transferred", POLICE, [POLICE])


@pytest.mark.parametrize("start", status.STATUSES)
def test_the_service_refuses_a_transfer_unless_the_front_holds_the_report(app, client, make_user,
                                                                         start):
    rid = filed(app, client)
    make_user("one.holder", "triage")
    with app.app_context():
        from portal.accounts.models import User
        from portal.agencies.models import Agency

        user = db.session.scalar(select(User).where(User.username == "one.holder"))
        report = db.session.get(Report, rid)
        police = db.session.scalar(select(Agency).where(Agency.code == POLICE))
        report.report_type, report.sector, report.status = "crime_report", "land", start
        report.current_agency = police if start in ("transferred", "accepted", "resolved") \
            else None
        db.session.commit()
        holder = report.current_agency_id
        try:
            handling.transfer(user, report, police, "Dấu hiệu tội phạm.")
        except handling.ActionError as exc:
            db.session.rollback()
            assert start not in status.WITH_FRONT
            assert "Không thể chuyển đến cơ quan" in exc.message
            report = db.session.get(Report, rid)
            assert (report.status, report.current_agency_id) == (start, holder)
        else:
            assert start in status.WITH_FRONT
            assert (report.status, report.current_agency_id) == ("transferred", police.id)
