"""Proof that the database and the upload folder hold no identity and no report content.

Reports are filed through the web form and the API, with identities, attachments and replies;
the Front notes, messages and masks, an agency answers and records a result, the custodian
discloses an identity. Then every table is dumped (``SELECT *``) together with every file in
the upload folder, and nothing a person typed may be found in it: not the identities (as
typed, normalised or without diacritics), not the distinctive words of texts, messages, notes
and results, not the attachments' names or contents. The same test runs on SQLite (where the
database file itself is searched too) and on PostgreSQL.
"""

import io
import re
from pathlib import Path

from sqlalchemy import inspect, select, text

from portal.extensions import db
from portal.reports.models import Attachment
from portal.textfold import fold
from tests.functional.test_public_flow import PNG
from tests.helpers import csrf_token, file_report, open_case, post_form

WEB_IDENTITY = {
    "name": "Quách Thị Diễm Kiều",
    "phone": "0978 123 456",
    "email": "dkieu.quach@example.vn",
    "address": "Số 17 ngõ 88 đường Lương Ngọc Quyến, tổ 9, phường Phan Đình Phùng",
    "id_number": "019301004567",
}
API_IDENTITY = {
    "name": "Ninh Văn Khuê",
    "phone": "+84 913 579 246",
    "email": "khue.ninh@example.org",
    "address": "Xóm Nà Rì, xã Phú Lương",
    "id_number": "019301009876",
    "contact_preference": "email",
    "disclosure_consent": True,
}
# Words that appear nowhere else, one per kind of text.
WORDS = {
    "web text": "Bạchtuộcvàng",
    "web involved": "Ốcsênbay",
    "api text": "Cáheoxanh",
    "anonymous text": "Hươucaocổ",
    "web reply": "Dưaleovuông",
    "api reply": "Gấuxámbiển",
    "note": "Kỳlânđỏ",
    "front message": "Sếutầuđầu",
    "agency message": "Tắckèhoa",
    "result": "Chuồnchuồnkim",
    "affiliation": "Sóngbiếc",
    "mask phrase": "Rùavàngkhè",
    "disclosure reason": "Tinhvânbạc",
    "file name": "Rongbiểncam",
}


def needles() -> list[str]:
    """Every value that must not be found, as typed, normalised and folded."""
    values = []
    for identity in (WEB_IDENTITY, API_IDENTITY):
        for key in ("name", "email", "address", "id_number"):
            values.append(identity[key])
        values.append(identity["phone"])
        values.append(re.sub(r"\D", "", identity["phone"]))
    values += ["0978123456", "0913579246", "84913579246"]
    values += list(WORDS.values())
    out = set()
    for value in values:
        out |= {value, value.lower(), fold(value)}
    # Parts of names and addresses that are distinctive enough on their own.
    out |= {"Diễm Kiều", "diem kieu", "Lương Ngọc Quyến", "luong ngoc quyen", "Văn Khuê",
            "van khue", "Nà Rì", "na ri"}
    return sorted(out)


def every_table(app) -> dict[str, list[tuple]]:
    """``SELECT *`` of every table in the database (not only those the models know)."""
    with app.app_context(), db.engine.connect() as conn:
        names = inspect(conn).get_table_names()
        assert {t.name for t in db.metadata.sorted_tables} <= set(names)
        return {name: [tuple(row) for row in conn.execute(text(f'SELECT * FROM "{name}"'))]  # noqa: S608
                for name in names}


def as_bytes(value) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8")


def test_a_dump_of_every_table_and_of_the_upload_folder_shows_no_identity_or_content(
        app, client, staff):
    # 1. A named journalist files through the form, names herself in the story, attaches a file.
    web_text = (f"Tôi là {WEB_IDENTITY['name']}, số điện thoại {WEB_IDENTITY['phone']}. Tôi thấy "
                f"cán bộ địa chính xã nhận hối lộ 80 triệu đồng ở quán {WORDS['web text']}, có "
                f"người tên {WORDS['mask phrase']} đứng xem.")
    web_code = file_report(
        client, identity_choice="named", reporter_role="journalist",
        affiliation=f"Báo {WORDS['affiliation']}", contact_preference="phone",
        involved=f"Ông Trần Văn Bình, địa chính xã, quán {WORDS['web involved']}",
        text=web_text, attachments=[(io.BytesIO(PNG), f"anh-{WORDS['file name']}.png")],
        **{k: v for k, v in WEB_IDENTITY.items()})
    # 2. A named report through the API, and an anonymous one with a PDF.
    response = client.post("/api/v1/reports", json={
        "text": f"Trạm thu phí {WORDS['api text']} thu tiền sai quy định của người dân đi qua.",
        "report_type": "petition", "identity": API_IDENTITY})
    assert response.status_code == 201, response.get_json()
    api_code = response.get_json()["receipt_code"]
    from tests.unit.test_scrub import photo_pdf

    file_report(client, attachments=[(io.BytesIO(photo_pdf()), "bien-ban.pdf")],
                text=f"Bãi rác {WORDS['anonymous text']} bốc mùi cả tháng nay chưa ai xử lý.")

    # 3. The reporters reply: with a file through the form, in JSON through the API.
    reporter = app.test_client()
    open_case(reporter, web_code)
    response = reporter.post("/ho-so", data={
        "csrf_token": csrf_token(reporter, "/ho-so"),
        "text": f"Bổ sung: tiền đưa trong phong bì {WORDS['web reply']}, tôi gọi từ 0978123456.",
        "attachments": [(io.BytesIO(PNG), "them.png")]}, content_type="multipart/form-data")
    assert response.status_code == 302
    response = client.post("/api/v1/reports/messages",
                           headers={"Authorization": f"Receipt {api_code}"},
                           json={"text": f"Xin bổ sung: biển {WORDS['api reply']} bị che."})
    assert response.status_code == 201

    # 4. The Front works on the named report and sends it on; the agency answers.
    with app.app_context():
        from portal.reports.reporter import find_by_code

        rid = find_by_code(web_code, app.config["SECRET_KEY"]).id
        police_id = db.session.scalar(text("SELECT id FROM agencies WHERE code = 'tn-police'"))
    case = f"/staff/triage/cases/{rid}"
    triage = staff("triage")
    for action, data in (
        ("classify", {"report_type": "crime_report", "sector": "land", "subject": "official",
                      "crime": ""}),
        ("note", {"body": f"Đã xác minh sơ bộ quán {WORDS['note']}."}),
        ("message", {"body": f"Bạn còn giữ ảnh quán {WORDS['front message']} không?"}),
        ("redaction", {"mask": [], "phrases": WORDS["mask phrase"]}),
        ("transfer", {"agency_id": str(police_id), "body": "Dấu hiệu tội nhận hối lộ."}),
    ):
        response = post_form(triage, f"{case}/{action}", data, token_from=case)
        assert response.status_code == 302, action
    police = staff("agency", "tn-police")
    agency_case = f"/staff/agency/cases/{rid}"
    for action, data in (
        ("accept", {}),
        ("message", {"body": f"Đề nghị cho biết giờ giao tiền ở {WORDS['agency message']}."}),
        ("resolve", {"outcome_code": "prosecuted",
                     "body": f"Đã khởi tố; vật chứng {WORDS['result']} đã thu giữ."}),
    ):
        response = post_form(police, f"{agency_case}/{action}", data, token_from=agency_case)
        assert response.status_code == 302, action
    custodian = staff("custodian")
    response = post_form(custodian, f"/staff/custodian/cases/{rid}/disclose",
                         {"basis": "investigation_bltths_145",
                          "reason": f"Công văn 77/{WORDS['disclosure reason']} của Cơ quan CSĐT."},
                         token_from=f"/staff/custodian/cases/{rid}")
    assert response.status_code == 302

    # Everything still works for the people allowed to see it.
    assert rid in [int(i) for i in re.findall(r"/staff/triage/cases/(\d+)", triage.get(
        "/staff/triage/", query_string={"q": fold(WORDS["web text"]), "status": "all"}
    ).get_data(as_text=True))]
    page = police.get(agency_case).get_data(as_text=True)
    assert WORDS["web text"] in page and WORDS["web reply"] in page
    assert WEB_IDENTITY["name"] in page  # disclosed to this agency by the custodian
    assert WORDS["mask phrase"] not in page  # masked by the Front's review
    with app.app_context():
        attachment_ids = db.session.scalars(select(Attachment.id).order_by(Attachment.id)).all()
    downloaded = [triage.get(f"/staff/files/{i}").get_data() for i in attachment_ids]
    assert len(downloaded) == 3 and downloaded[0].startswith(b"\x89PNG")
    assert any(data.startswith(b"%PDF") for data in downloaded)

    # 5. The dump.
    tables = every_table(app)
    assert sum(len(rows) for rows in tables.values()) > 100
    dump = b"\n".join(as_bytes(value) for rows in tables.values() for row in rows
                      for value in row)
    uploads = [path.read_bytes() for path in Path(app.config["UPLOAD_FOLDER"]).iterdir()]
    assert len(uploads) == 3
    print(f"dumped {len(tables)} tables, {sum(len(r) for r in tables.values())} rows, "
          f"{len(dump)} bytes; {len(uploads)} files; {len(needles())} values searched")
    # The dump is real: what is not secret is there in clear.
    assert b"tn-police" in dump and b"crime_report" in dump and b"prosecuted" in dump
    found = [n for n in needles() if n.encode("utf-8") in dump]
    assert not found, f"in the database dump: {found}"
    found = [n for n in needles() for blob in uploads if n.encode("utf-8") in blob]
    assert not found, f"in the upload folder: {found}"
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        raw = Path(url.removeprefix("sqlite:///")).read_bytes()
        found = [n for n in needles() if n.encode("utf-8") in raw]
        assert not found, f"in the SQLite file: {found}"

    # The files on disk are none of the files received: no 32-byte run of any of them, and no
    # file type signature.
    for data in downloaded:
        for start in range(0, max(len(data) - 32, 1), 97):
            chunk = data[start:start + 32]
            assert not any(chunk in blob for blob in uploads)
    for blob in uploads:
        assert not blob.startswith((b"\x89PNG", b"%PDF", b"PK\x03\x04", b"\xff\xd8"))
