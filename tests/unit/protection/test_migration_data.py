"""The encryption migration converts rows written in clear by the earlier schema, and its
downgrade gives them back."""

import hashlib
import secrets
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from portal.accounts.services import create_user
from portal.agencies.models import Agency
from portal.extensions import db
from portal.protection import agency_copy
from portal.protection.envelope import decrypt_file, open_identity
from portal.reports.handling import queue_query
from portal.reports.models import Report
from portal.textfold import fold
from tests.functional.test_public_flow import PNG

MIGRATIONS = str(Path(__file__).resolve().parents[3] / "migrations")
# The schema just before a4d100000001 (encryption at rest), named absolutely: Alembic does not
# resolve a relative "a4d100000001@-1" once later revisions sit above it.
BEFORE = "a4c100000001"
TEXT = "Tôi là Vi Thị Nguyệt. Cán bộ kiểm lâm Hmuathanh thu tiền để cho chặt gỗ rừng phòng hộ."
NAME = "Vi Thị Nguyệt"
NOTE = "Ghi chú Hmuaghichu."
BODY = "Tin nhắn Hmuatinnhan."
FILE_NAME = "Hmuatep.png"
SECRETS = ("Hmuathanh", NAME, "019222333444", "Hmuaghichu", "Hmuatinnhan", "Hmuatep",
           "Hmuaketqua", "Hmuabao")


@pytest.fixture
def back_to_heads(ctx):
    """Leave the database at the heads even when the test fails half-way."""
    yield
    db.session.remove()
    upgrade(directory=MIGRATIONS, revision="heads")


def table(conn, name):
    return sa.Table(name, sa.MetaData(), autoload_with=conn)


def dump(conn, *names) -> str:
    return repr([list(conn.execute(sa.text(f"SELECT * FROM {n}"))) for n in names])  # noqa: S608


def test_rows_written_in_clear_are_encrypted_and_a_downgrade_restores_them(back_to_heads, app):
    with db.session.begin():
        author = create_user("migration.triage", "mot-mat-khau-dai", "triage")
    author_id = author.id
    police_id = db.session.scalar(select(Agency.id).where(Agency.code == "tn-police"))
    db.session.remove()
    downgrade(directory=MIGRATIONS, revision=BEFORE)

    uploads = Path(app.config["UPLOAD_FOLDER"])
    uploads.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16)
    (uploads / stored_name).write_bytes(PNG)
    now = datetime.now(UTC).replace(tzinfo=None)
    with db.engine.begin() as conn:
        report_id = conn.execute(table(conn, "reports").insert().values(
            receipt_code_hash="migration-test", status="accepted", created_at=now,
            updated_at=now, channel="web", language="vi", reporter_role="journalist",
            reporter_affiliation="Báo Hmuabao", report_type="denunciation", flags=[],
            text=TEXT, involved="Kiểm lâm địa bàn", search_text=fold(TEXT), anonymous=False,
            current_agency_id=police_id, result_text="Kết quả Hmuaketqua.",
        ).returning(sa.literal_column("id"))).scalar_one()
        conn.execute(table(conn, "reporter_identities").insert().values(
            report_id=report_id, name=NAME, phone="0912000111", email=None,
            address=None, id_number="019222333444", disclosure_consent=True,
            contact_preference="phone"))
        conn.execute(table(conn, "messages").insert().values(
            report_id=report_id, created_at=now, from_reporter=True, body=BODY))
        conn.execute(table(conn, "internal_notes").insert().values(
            report_id=report_id, created_at=now, author_user_id=author_id, body=NOTE))
        conn.execute(table(conn, "attachments").insert().values(
            report_id=report_id, created_at=now, stored_name=stored_name,
            original_name=FILE_NAME, content_type="image/png", size_bytes=len(PNG),
            sha256=hashlib.sha256(PNG).hexdigest()))
        conn.execute(table(conn, "classifications").insert().values(
            report_id=report_id, created_at=now, model="stub 1", sector="environment_resources",
            sector_score=0.9, report_type="denunciation", crime_flag=True, crime_score=0.9,
            needs_review=False, result={"crime_signs": {"articles": [{"evidence": [
                {"text": "Hmuathanh", "start": 37, "end": 46}]}]}}))

    upgrade(directory=MIGRATIONS, revision="heads")

    with db.engine.connect() as conn:
        clear = dump(conn, "reports", "reporter_identities", "messages", "internal_notes",
                     "attachments", "classifications", "report_search_tokens")
    assert not [s for s in SECRETS if s in clear]
    assert PNG not in (uploads / stored_name).read_bytes()

    report = db.session.get(Report, report_id)
    assert report.text == TEXT and report.result_text == "Kết quả Hmuaketqua."
    assert report.reporter_affiliation == "Báo Hmuabao"
    assert open_identity(report.identity)["name"] == NAME
    assert report.messages[0].body == BODY and report.notes[0].body == NOTE
    attachment = report.attachments[0]
    assert attachment.original_name == FILE_NAME
    assert decrypt_file(report, (uploads / stored_name).read_bytes()) == PNG
    assert report.classification.result["crime_signs"]["articles"][0]["evidence"][0]["text"] \
        == "Hmuathanh"
    # Searchable, and the reporter's own name in the text is masked for the agency.
    assert db.session.scalars(queue_query(search="hmuathanh")).all() == [report]
    assert NAME not in agency_copy.excerpt(report) and "Hmuathanh" in agency_copy.excerpt(report)
    db.session.remove()

    downgrade(directory=MIGRATIONS, revision=BEFORE)
    with db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT text, search_text, result_text FROM reports")).one()
        assert row == (TEXT, fold(f"{TEXT}\nKiểm lâm địa bàn"), "Kết quả Hmuaketqua.")
        assert conn.execute(sa.text("SELECT name FROM reporter_identities")).scalar() == NAME
        assert conn.execute(sa.text("SELECT original_name, sha256 FROM attachments")).one() == (
            FILE_NAME, hashlib.sha256(PNG).hexdigest())
    assert (uploads / stored_name).read_bytes() == PNG
    upgrade(directory=MIGRATIONS, revision="heads")
