"""Backup and restore (docs/deployment.md): scripts/backup.sh (pg_dump -Fc and the upload
folder) of a populated database, pg_restore into a fresh database, and a new app on the
restored copy with the same keys reads everything back — report texts, identities (by the
custodian), attachments — and the audit chain verifies. With other keys, or another secret key,
nothing opens: the backup alone is ciphertext.

PostgreSQL only (pg_dump/pg_restore); the databases are ``tinbao_backup_src`` and
``tinbao_backup_restored`` on the server of TINBAO_TEST_DATABASE_URL, dropped at the end.
"""

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from flask_migrate import upgrade
from PIL import Image
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.accounts.services import create_user
from portal.agencies.seed import load_directory
from portal.attachments import LocalFileStorage
from portal.audit import services as audit
from portal.extensions import db
from portal.protection import disclosure, envelope
from portal.protection.crypto import DecryptionFailed, KeyUnavailable
from portal.reports.models import Attachment, Report
from portal.reports.reporter import find_by_code
from tests.conftest import TEST_DB_URL
from tests.helpers import StubClassifier, file_report

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "backup-test-secret-key"  # noqa: S105 (a throwaway instance)

pytestmark = pytest.mark.skipif(
    not (TEST_DB_URL or "").startswith("postgresql"),
    reason="pg_dump/pg_restore: PostgreSQL only (TINBAO_TEST_DATABASE_URL=postgresql+psycopg://…)")

IDENTITY = {"name": "Lò Thị Hoa Ban", "phone": "0915 246 810", "email": "hoaban.lo@example.vn",
            "address": "Bản Mạy, xã Bình Yên", "id_number": "019302001122"}
API_IDENTITY = {"name": "Đinh Công Trứ", "phone": "0987 000 111", "contact_preference": "phone"}


def _photo_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x8825] = {1: "N", 2: (21.0, 35.0, 32.0), 3: "E", 4: (105.0, 50.0, 41.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _pg_bin(tool: str, url) -> str:
    """The tool of the server's own major version when installed there (pg_dump must not be
    older than the server), else the one on PATH."""
    engine = create_engine(url)
    with engine.connect() as conn:
        major = int(conn.scalar(text("SHOW server_version_num"))) // 10000
    engine.dispose()
    candidate = Path(f"/usr/lib/postgresql/{major}/bin/{tool}")
    found = str(candidate) if candidate.exists() else shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} is not installed")
    return found


def _recreate(admin_url, name: str) -> str:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop(admin_url, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _app(url: str, keys: Path, uploads: Path, instance: Path, secret_key=SECRET_KEY):
    return create_app({
        "TESTING": True, "INSTANCE_PATH": str(instance), "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": str(uploads),
        "KEYS_FOLDER": str(keys), "KEYS_GENERATE": True,
        "RATELIMIT_STORAGE_URI": "memory://", "FILING_RATE_LIMIT": "1000 per minute",
        "LOOKUP_RATE_LIMIT": "1000 per minute", "JOBS_MODE": "inline",
        "CLASSIFIER_FACTORY": lambda app: StubClassifier(),
    })


def _read_back(app, codes: dict[str, str], anchor=None) -> dict:
    """The audit chain's verdict (``anchor``: a head it must still hold), then everything a
    person filed, decrypted by ``app``: texts, identities (as the custodian), attachments."""
    with app.app_context():
        verdict = audit.verify(anchor=anchor)
        out = {"audit": (verdict.ok, verdict.count, verdict.head_seq, verdict.head_hash)}
        custodian = db.session.scalar(text("SELECT id FROM users WHERE username = 'giu-danh-tinh'"))
        from portal.accounts.models import User

        custodian = db.session.get(User, custodian)
        storage = LocalFileStorage(app.config["UPLOAD_FOLDER"])
        for label, code in codes.items():
            report = find_by_code(code, app.config["SECRET_KEY"])
            assert report is not None, label
            files = sorted(
                envelope.decrypt_file(report, storage.path(a.stored_name).read_bytes())
                for a in report.attachments)
            identity = (disclosure.view_identity(custodian, report)
                        if report.identity is not None else None)
            out[label] = {"text": report.text, "involved": report.involved,
                          "identity": identity, "files": files,
                          "file_names": sorted(a.original_name for a in report.attachments)}
        db.session.remove()
    return out


def test_a_restored_backup_reads_back_with_the_keys_and_not_without(tmp_path):
    admin_url = make_url(TEST_DB_URL).set(database="postgres").render_as_string(
        hide_password=False)
    source_url = _recreate(admin_url, "tinbao_backup_src")
    restored_url = make_url(admin_url).set(database="tinbao_backup_restored").render_as_string(
        hide_password=False)
    keys, uploads = tmp_path / "keys", tmp_path / "uploads"
    try:
        # 1. A populated portal: named and anonymous filings through the form (with photos)
        #    and the API, a reporter's reply, the custodian opening an identity (audited).
        source = _app(source_url, keys, uploads, tmp_path / "instance")
        with source.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision="heads")
            load_directory()
            create_user("giu-danh-tinh", "correct horse battery staple", "custodian")
            db.session.commit()
            db.session.remove()
        client = source.test_client()
        codes = {
            "named web": file_report(
                client, identity_choice="named", contact_preference="phone",
                text="Chủ tịch xã Bình Yên lấy đất rừng phòng hộ chia cho người nhà, tôi có ảnh.",
                involved="Ông Hoàng Văn Chung, chủ tịch xã",
                attachments=[(io.BytesIO(_photo_with_gps()), "IMG_0412.jpg"),
                             (io.BytesIO(_photo_with_gps()), "IMG_0413.jpg")],
                **IDENTITY),
            "anonymous web": file_report(
                client, text="Trạm thu phí trên quốc lộ 3 thu tiền của xe máy trái quy định."),
        }
        response = client.post("/api/v1/reports", json={
            "text": "Trường mầm non thu thêm tiền ăn của các cháu mà không có biên lai.",
            "report_type": "complaint", "identity": API_IDENTITY})
        assert response.status_code == 201
        codes["named api"] = response.get_json()["receipt_code"]
        response = client.post("/api/v1/reports/messages", json={"text": "Xin bổ sung ảnh."},
                               headers={"Authorization": f"Receipt {codes['named api']}"})
        assert response.status_code == 201
        before = _read_back(source, codes)
        assert before["named web"]["identity"]["name"] == IDENTITY["name"]
        assert len(before["named web"]["files"]) == 2
        assert before["audit"][0] and before["audit"][1] >= 1
        with source.app_context():
            db.engine.dispose()

        # 2. The backup, as an operator makes it.
        env = {**os.environ, "TINBAO_DATABASE_URL": source_url,
               "TINBAO_UPLOAD_FOLDER": str(uploads), "TINBAO_KEYS_FOLDER": str(keys)}
        env.pop("TINBAO_ENV_FILE", None)
        env["PG_BIN"] = str(Path(_pg_bin("pg_dump", source_url)).parent)
        made = subprocess.run(["bash", str(ROOT / "scripts" / "backup.sh"),  # noqa: S603, S607
                               str(tmp_path / "backups")], env=env, capture_output=True,
                              text=True, check=False, timeout=120)
        assert made.returncode == 0, made.stderr
        assert "are not in this backup" in made.stdout
        (folder,) = (tmp_path / "backups").iterdir()
        assert sorted(p.name for p in folder.iterdir()) == [
            "SHA256SUMS", "database.dump", "uploads.tar"]
        assert not any("key" in p.name for p in folder.iterdir())
        # Ciphertext only: no identity and no report word in the dump or the archive.
        dump = (folder / "database.dump").read_bytes() + (folder / "uploads.tar").read_bytes()
        for needle in (IDENTITY["name"], "0915246810", "phòng hộ", "Canon"):
            assert needle.encode() not in dump, needle

        # 3. Restore into a fresh database and a fresh upload folder; the keys come back from
        #    their own (separate) copy.
        _recreate(admin_url, "tinbao_backup_restored")
        pg_restore = _pg_bin("pg_restore", restored_url)
        libpq = restored_url.replace("postgresql+psycopg://", "postgresql://")
        restored = subprocess.run(  # noqa: S603
            [pg_restore, "--no-owner", "--exit-on-error", "-d", libpq,
             str(folder / "database.dump")], capture_output=True, text=True, check=False,
            timeout=120)
        assert restored.returncode == 0, restored.stderr
        restored_uploads = tmp_path / "restored-uploads"
        restored_uploads.mkdir()
        with tarfile.open(folder / "uploads.tar") as archive:
            archive.extractall(restored_uploads, filter="data")
        keys_copy = tmp_path / "keys-restored"
        shutil.copytree(keys, keys_copy)

        restored_app = _app(restored_url, keys_copy, restored_uploads, tmp_path / "instance2")
        with source.app_context():
            source_head = audit.verify()
            db.session.remove()
            db.engine.dispose()
        # The restored chain is the source's, up to the same head (which the custodian's
        # reading in step 1 had extended).
        after = _read_back(restored_app, codes,
                           anchor=(source_head.head_seq, source_head.head_hash))
        assert after["audit"] == (True, source_head.count, source_head.head_seq,
                                  source_head.head_hash)
        assert {k: v for k, v in after.items() if k != "audit"} == {
            k: v for k, v in before.items() if k != "audit"}
        with restored_app.app_context():
            db.engine.dispose()

        # 4. The same backup with other keys (a fresh install's) opens nothing…
        wrong = _app(restored_url, tmp_path / "other-keys", restored_uploads,
                     tmp_path / "instance3")
        with wrong.app_context():
            report = find_by_code(codes["named web"], SECRET_KEY)
            assert report is not None  # the receipt code is keyed by SECRET_KEY only
            with pytest.raises((KeyUnavailable, DecryptionFailed)):
                _ = report.text
            with pytest.raises((KeyUnavailable, DecryptionFailed)):
                envelope.open_identity(report.identity)
            attachment = db.session.scalars(select(Attachment)).first()
            blob = LocalFileStorage(restored_uploads).path(attachment.stored_name).read_bytes()
            with pytest.raises((KeyUnavailable, DecryptionFailed)):
                envelope.decrypt_file(attachment.report, blob)
            db.session.remove()
            db.engine.dispose()
        # …and another secret key opens no case with the reporters' codes.
        other_secret = _app(restored_url, keys_copy, restored_uploads, tmp_path / "instance4",
                            secret_key="another-secret-key")  # noqa: S106
        with other_secret.app_context():
            assert all(find_by_code(code, "another-secret-key") is None
                       for code in codes.values())
            assert db.session.scalar(select(db.func.count(Report.id))) == 3
            db.session.remove()
            db.engine.dispose()
    finally:
        _drop(admin_url, "tinbao_backup_src")
        _drop(admin_url, "tinbao_backup_restored")
