"""Who can open a reporter's identity: only the custodian, through an audited action; the agency
handling the case only after the custodian discloses it with the reporter's consent or a
recorded legal reason; and the reporter is told, and can give or withdraw consent."""

import re

from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.protection.models import IdentityDisclosure
from tests.functional.test_backoffice import (
    POLICE,
    POLICE_NAME,
    PROCURACY,
    agency_case_url,
    alerts,
    case_url,
    classify,
    report_id,
    transfer,
)
from tests.helpers import csrf_token, file_report, open_case, post_form

IDENTITY = {"name": "Đinh Thị Thu Trang", "phone": "0912 888 777",
            "email": "trang.dinh@example.vn", "address": "Xóm Đồng Kem, xã Đại Từ",
            "id_number": "019200123456"}
STORED_PHONE = "0912888777"
STATUS_PAGE = "/ho-so"


def custodian_url(rid: int) -> str:
    return f"/staff/custodian/cases/{rid}"


def custodian_do(client, rid: int, action: str, **data) -> str:
    response = post_form(client, f"{custodian_url(rid)}/{action}", data,
                         token_from=custodian_url(rid), follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def audited(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == action))


def transferred(app, client, staff, **fields):
    code = file_report(client, identity_choice="named", contact_preference="phone",
                       **IDENTITY, **fields)
    rid = report_id(app, code)
    triage = staff("triage")
    classify(triage, rid)
    transfer(triage, app, rid, POLICE)
    return code, rid, triage


def shows_identity(page: str) -> bool:
    return IDENTITY["name"] in page or STORED_PHONE in page or IDENTITY["id_number"] in page


def test_only_the_custodian_opens_an_identity_and_each_opening_is_audited(app, client, staff):
    code = file_report(client, identity_choice="named", contact_preference="phone", **IDENTITY)
    rid = report_id(app, code)
    for role in ("triage", "supervisor", "admin"):
        page = staff(role).get(case_url(rid)).get_data(as_text=True)
        assert not shows_identity(page), role
        assert "Có danh tính, được mã hóa" in page

    custodian = staff("custodian")
    listing = custodian.get("/staff/custodian/").get_data(as_text=True)
    assert custodian_url(rid) in listing and not shows_identity(listing)
    page = custodian.get(custodian_url(rid)).get_data(as_text=True)
    assert not shows_identity(page) and "Mở danh tính" in page
    assert "nhận hối lộ" not in page  # the custodian is not shown the report's content
    assert audited(app, "view_identity") == 0

    page = custodian_do(custodian, rid, "identity")
    for value in (IDENTITY["name"], STORED_PHONE, IDENTITY["email"], IDENTITY["address"],
                  IDENTITY["id_number"]):
        assert value in page
    assert audited(app, "view_identity") == 1
    # Shown in that response only: reloading the page shows it no more.
    assert not shows_identity(custodian.get(custodian_url(rid)).get_data(as_text=True))

    # Nobody else reaches the custodian's pages, even with a valid form.
    for role, home in (("triage", "/staff/triage/"), ("supervisor", "/staff/supervision/"),
                       ("admin", "/staff/admin/users")):
        other = staff(role, username=f"other-{role}")
        assert other.get("/staff/custodian/").status_code == 403
        response = other.post(f"{custodian_url(rid)}/identity",
                              data={"csrf_token": csrf_token(other, home)})
        assert response.status_code == 403
    assert audited(app, "view_identity") == 1


def test_disclosure_needs_consent_or_a_legal_reason_and_reaches_only_the_agency_handling_it(
        app, client, staff):
    code, rid, triage = transferred(app, client, staff)
    police = staff("agency", POLICE)
    assert not shows_identity(police.get(agency_case_url(rid)).get_data(as_text=True))
    custodian = staff("custodian")

    page = custodian_do(custodian, rid, "disclose", basis="consent", reason="")
    assert ("Người gửi chưa đồng ý cho cơ quan biết danh tính: cần một căn cứ pháp luật và lý "
            "do.") in alerts(page)
    page = custodian_do(custodian, rid, "disclose", basis="investigation_bltths_145", reason=" ")
    assert ("Vui lòng ghi rõ văn bản yêu cầu (số, ngày, cơ quan) và lý do cung cấp danh tính."
            in alerts(page))
    page = custodian_do(custodian, rid, "disclose", basis="", reason="x")
    assert "Vui lòng chọn căn cứ cung cấp danh tính." in alerts(page)
    assert audited(app, "disclose_identity") == 0
    assert not shows_identity(police.get(agency_case_url(rid)).get_data(as_text=True))

    reason = "Công văn số 12/CSĐT ngày 5/3 đề nghị cung cấp để lấy lời khai."
    page = custodian_do(custodian, rid, "disclose", basis="investigation_bltths_145",
                        reason=reason)
    assert f"Đã cung cấp danh tính cho {POLICE_NAME}; người gửi được thông báo." in page
    assert reason in page and "Cơ quan điều tra yêu cầu theo BLTTHS Điều 145" in page
    assert audited(app, "disclose_identity") == 1
    page = custodian_do(custodian, rid, "disclose", basis="investigation_bltths_145",
                        reason=reason)
    assert "Danh tính đã được cung cấp cho cơ quan này." in alerts(page)

    # The agency now sees who filed, and that it must keep it confidential; each showing is
    # audited.
    page = police.get(agency_case_url(rid)).get_data(as_text=True)
    for value in (IDENTITY["name"], STORED_PHONE, IDENTITY["email"], IDENTITY["address"],
                  IDENTITY["id_number"]):
        assert value in page
    assert "Danh tính người gửi được cung cấp cho cơ quan" in page
    assert "Danh tính người gửi được giữ bí mật và không hiển thị" not in page
    assert audited(app, "view_disclosed_identity") == 1

    # The reporter is told, in plain words, without the custodian's name or the reason.
    page = open_case(app.test_client(), code).get_data(as_text=True)
    assert (f"Danh tính của bạn đã được cung cấp cho {POLICE_NAME} theo yêu cầu của Cơ quan "
            "điều tra (Điều 145 Bộ luật Tố tụng hình sự).") in page
    assert reason not in page

    # Another agency never sees it: the case goes back and on to the procuracy.
    post_form(police, f"{agency_case_url(rid)}/return", {"body": "Không thuộc thẩm quyền."},
              token_from=agency_case_url(rid))
    assert police.get(agency_case_url(rid)).status_code == 404
    transfer(triage, app, rid, PROCURACY, override_reason="Công an tỉnh trả lại.")
    procuracy = staff("agency", PROCURACY)
    page = procuracy.get(agency_case_url(rid)).get_data(as_text=True)
    assert not shows_identity(page)
    assert "Danh tính người gửi được giữ bí mật" in page
    # The Front's timeline records the disclosure and its basis, not the identity.
    page = triage.get(case_url(rid)).get_data(as_text=True)
    assert "cung cấp danh tính người gửi cho cơ quan" in page and not shows_identity(page)


def test_the_reporter_gives_and_withdraws_consent_on_the_status_page(app, client, staff):
    code, rid, triage = transferred(app, client, staff)
    reporter = app.test_client()
    page = open_case(reporter, code).get_data(as_text=True)
    assert 'data-consent="no"' in page
    response = post_form(reporter, "/ho-so/danh-tinh", {"consent": "yes"}, token_from=STATUS_PAGE,
                         follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Đã ghi nhận: bạn đồng ý để cơ quan giải quyết biết danh tính của bạn." in page
    assert 'data-consent="yes"' in page
    assert "Bạn đã đồng ý để cơ quan giải quyết biết danh tính của bạn khi cần xác minh." in page
    assert "Đồng ý cho cơ quan biết danh tính: có" in triage.get(case_url(rid)).get_data(
        as_text=True)

    custodian = staff("custodian")
    page = custodian_do(custodian, rid, "disclose", basis="consent", reason="")
    assert f"Đã cung cấp danh tính cho {POLICE_NAME}" in page
    police = staff("agency", POLICE)
    assert shows_identity(police.get(agency_case_url(rid)).get_data(as_text=True))
    page = reporter.get("/ho-so").get_data(as_text=True)
    assert (f"Danh tính của bạn đã được cung cấp cho {POLICE_NAME} theo sự đồng ý của bạn."
            in page)

    # Withdrawing ends the disclosure that rested on it.
    response = post_form(reporter, "/ho-so/danh-tinh", {"consent": "no"}, token_from=STATUS_PAGE,
                         follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Bạn đã rút lại sự đồng ý cung cấp danh tính." in page and 'data-consent="no"' in page
    assert not shows_identity(police.get(agency_case_url(rid)).get_data(as_text=True))
    with app.app_context():
        record = db.session.scalar(select(IdentityDisclosure))
        assert record.revoked_at is not None
        assert record.report.identity.disclosed_encrypted is None
    page = custodian.get(custodian_url(rid)).get_data(as_text=True)
    assert "vì người gửi rút lại sự đồng ý" in page
    assert audited(app, "reporter_consent") == 2


def test_anonymous_reporters_have_nothing_to_consent_to(app, client):
    code = file_report(client)
    page = open_case(client, code).get_data(as_text=True)
    assert "/ho-so/danh-tinh" not in page
    response = post_form(client, "/ho-so/danh-tinh", {"consent": "yes"}, token_from=STATUS_PAGE,
                         follow_redirects=True)
    assert "Bạn đã gửi ẩn danh: không có danh tính để cung cấp." in response.get_data(as_text=True)


def test_nothing_is_disclosed_while_the_case_is_with_the_front(app, client, staff):
    code = file_report(client, identity_choice="named", disclosure_consent="y", **IDENTITY)
    rid = report_id(app, code)
    custodian = staff("custodian")
    page = custodian.get(custodian_url(rid)).get_data(as_text=True)
    assert f'action="{custodian_url(rid)}/disclose"' not in page
    page = custodian_do(custodian, rid, "disclose", basis="consent", reason="")
    assert any("Hồ sơ chưa ở cơ quan giải quyết nào" in a for a in alerts(page))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IdentityDisclosure)) == 0


def test_without_the_custodian_key_on_the_server_reports_are_sealed_but_not_opened(
        app, client, staff, monkeypatch):
    keys = app.extensions["tinbao.keys"]
    monkeypatch.setattr(keys, "custodian_private_keys", {})
    code = file_report(client, identity_choice="named", **IDENTITY)  # filing still works
    rid = report_id(app, code)
    custodian = staff("custodian")
    page = custodian.get(custodian_url(rid)).get_data(as_text=True)
    assert "Khóa riêng của người giữ danh tính không có trên máy chủ này" in page
    page = custodian_do(custodian, rid, "identity")
    assert ("Không mở được danh tính: khóa của người giữ danh tính không có trên máy chủ này."
            in alerts(page))
    assert not shows_identity(page)
    assert audited(app, "view_identity") == 0
    monkeypatch.undo()
    assert IDENTITY["name"] in custodian_do(custodian, rid, "identity")


def test_the_custodian_list_can_show_only_cases_with_an_agency(app, client, staff):
    _code, rid, _triage = transferred(app, client, staff)
    other = report_id(app, file_report(client, identity_choice="named", name="Mai Văn Tư"))
    anonymous = report_id(app, file_report(client))
    custodian = staff("custodian")
    listed = {int(i) for i in re.findall(r"/staff/custodian/cases/(\d+)",
                                         custodian.get("/staff/custodian/").get_data(as_text=True))}
    assert listed == {rid, other}
    listed = {int(i) for i in re.findall(r"/staff/custodian/cases/(\d+)", custodian.get(
        "/staff/custodian/?with_agency=1").get_data(as_text=True))}
    assert listed == {rid}
    assert custodian.get(custodian_url(anonymous)).status_code == 404
