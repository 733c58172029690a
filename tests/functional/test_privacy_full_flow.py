"""No client address, user agent, identity or receipt code in any log, during a whole case:
named filing with a file, lookup, reply, triage, transfer, acceptance and result, over the test
client and over a real HTTP server (whose access log names the client). And no table holds the
address or the user agent."""

import http.client
import io
import json
import logging
import re
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.serving import make_server

from portal.agencies.models import Agency
from portal.extensions import db
from portal.reports import reporter
from tests.functional.test_public_flow import PNG
from tests.helpers import file_report, login, open_case, post_form

ADDRESS = "198.18.77.201"
USER_AGENT = "Mozilla/5.0 (X11; Linux) ThuNghiemRiengTu/7.3.1"
# The live server is reached from this loopback address, which therefore is in its access log.
LIVE_CLIENT_ADDRESS = "127.0.0.93"
IDENTITY = {
    "name": "Hoàng Thị Thu Phương",
    "phone": "0977123456",
    "email": "thuphuong.hoang@example.vn",
    "address": "Số 18 ngõ 4 tổ 9 phường Túc Duyên",
    "id_number": "019087654321",
}
TEXT = ("Phó chủ tịch xã nhận 80 triệu đồng của chủ thầu để nghiệm thu kênh mương làm sai thiết "
        "kế, bê tông đã nứt sau hai tháng.")


def as_the_reporter(app):
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=USER_AGENT)
    return client


def staff_client(app, make_user, username, role, agency_code=None):
    """Staff log in from the same address and browser (they too must not be logged)."""
    make_user(username, role, agency_code)
    client = as_the_reporter(app)
    assert login(client, username).status_code == 302
    return client


def act(client, url: str, page: str, **data):
    response = post_form(client, url, data, token_from=page, follow_redirects=True)
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    return response.get_data(as_text=True)


def everything_logged(records) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in records)


def live_requests(app, code: str) -> None:
    """A few requests to a real werkzeug server from LIVE_CLIENT_ADDRESS, with the user agent."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for method, path, body, headers in (
            ("GET", "/", None, {}),
            ("GET", "/tra-cuu?lang=vi", None, {}),
            ("GET", "/khong-co-trang-nay", None, {}),
            ("GET", "/api/v1/reports/status", None, {"Authorization": f"Receipt {code}"}),
            ("POST", "/api/v1/reports", json.dumps({"text": TEXT, "identity": IDENTITY}),
             {"Content-Type": "application/json"}),
        ):
            connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10,
                                                    source_address=(LIVE_CLIENT_ADDRESS, 0))
            connection.request(method, path, body=body,
                               headers={"User-Agent": USER_AGENT, **headers})
            response = connection.getresponse()
            response.read()
            connection.close()
            assert response.status in (200, 201, 404), (path, response.status)
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_a_whole_case_leaves_no_address_user_agent_identity_or_code_in_logs_or_tables(
        app, make_user, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="werkzeug")
    # SQLAlchemy keeps its own loggers at WARNING; at DEBUG they log every statement, its
    # parameters (which the engine is configured to hide) and the rows read back.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")

    # The reporter files with their name and a photo, looks the case up and replies.
    reporter_client = as_the_reporter(app)
    code = file_report(reporter_client, identity_choice="named", contact_preference="phone",
                       text=TEXT, attachments=[(io.BytesIO(PNG), "anh-hien-truong.png")],
                       **IDENTITY)
    assert open_case(reporter_client, code).status_code == 200
    reply = post_form(reporter_client, "/ho-so", {"text": "Tôi có ảnh chụp hóa đơn."},
                      token_from="/ho-so", content_type="multipart/form-data")  # noqa: S106
    assert reply.status_code == 302
    with app.app_context():
        report_id = reporter.find_by_code(code, app.config["SECRET_KEY"]).id
        police_id = db.session.scalar(select(Agency.id).where(Agency.code == "tn-police"))

    # The Front triages and transfers; the police accept, ask, and record the result.
    triage = staff_client(app, make_user, "nhan.vien.mttq", "triage")
    case = f"/staff/triage/cases/{report_id}"
    assert triage.get("/staff/triage/").status_code == 200
    act(triage, f"{case}/classify", case, report_type="crime_report",
        sector="construction_investment", subject="official", flags=["corruption"], crime="yes")
    page = act(triage, f"{case}/transfer", case, agency_id=str(police_id),
               body="Dấu hiệu tội nhận hối lộ, Điều 354 BLHS.")
    assert "Đã cập nhật hồ sơ." in page

    police = staff_client(app, make_user, "can.bo.congan", "agency", "tn-police")
    agency_case = f"/staff/agency/cases/{report_id}"
    assert police.get("/staff/agency/").status_code == 200
    act(police, f"{agency_case}/accept", agency_case)
    act(police, f"{agency_case}/message", agency_case, body="Đề nghị gửi thêm hóa đơn.")
    act(police, f"{agency_case}/resolve", agency_case, outcome_code="prosecuted",
        body="Đã khởi tố vụ án.")
    with app.app_context():
        attachment_ids = [a.id for a in reporter.find_by_code(
            code, app.config["SECRET_KEY"]).attachments]
    assert triage.get(f"/staff/files/{attachment_ids[0]}").status_code == 200
    assert "Đã có kết quả giải quyết" in reporter_client.get("/ho-so").get_data(as_text=True)

    # The same over the API, and a few requests to a live server.
    api_client = as_the_reporter(app)
    filed = api_client.post("/api/v1/reports", json={"text": TEXT, "identity": IDENTITY})
    api_code = filed.get_json()["receipt_code"]
    assert api_client.get("/api/v1/reports/status",
                          headers={"Authorization": f"Receipt {api_code}"}).status_code == 200
    live_requests(app, api_code)

    logged = everything_logged(caplog.records)
    assert any(r.name == "werkzeug" for r in caplog.records), "the access log was not captured"
    assert re.search(r'"GET /tra-cuu\?lang=vi HTTP/1\.1" 200', logged)
    for secret in (ADDRESS, LIVE_CLIENT_ADDRESS, USER_AGENT, "ThuNghiemRiengTu", code, api_code,
                   *IDENTITY.values()):
        assert secret not in logged, secret

    # Every row of every table: no address, no user agent.
    with app.app_context():
        dump = "\n".join(repr(tuple(row)) for table in db.metadata.sorted_tables
                         for row in db.session.execute(table.select()).all())
    assert dump  # the case is there
    for secret in (ADDRESS, LIVE_CLIENT_ADDRESS, USER_AGENT, "ThuNghiemRiengTu"):
        assert secret not in dump, secret


def test_database_errors_do_not_repeat_the_values_they_were_given(ctx):
    """SQLAlchemy normally puts a failed statement's parameters in the error message, which
    ends up in logs and error reports; the engine is set to hide them."""
    from portal.accounts.services import create_user

    create_user("trung.lap", "mot-mat-khau-rat-dai-2026", "triage",
                display_name="Nguyễn Văn Trùng Lặp")
    db.session.commit()
    with pytest.raises(IntegrityError) as caught:
        db.session.execute(db.metadata.tables["users"].insert().values(
            username="trung.lap", display_name="Lê Thị Bí Mật Riêng", password_hash="x",  # noqa: S106
            role="triage", active=True))
    db.session.rollback()
    message = str(caught.value)
    # (PostgreSQL's own DETAIL may still name a duplicate key: usernames, never identities.)
    assert "Lê Thị Bí Mật Riêng" not in message
    assert "hidden" in message
