"""Rotating the content key and the custodian key pair: every report stays readable with the
new keys, a report filed by a process still holding the old key is caught by ``--finish``, and
afterwards the old keys are gone and open nothing."""

import io
from pathlib import Path

import nacl.exceptions
import nacl.public
import pytest
from sqlalchemy import select

from portal import create_app
from portal.extensions import db
from portal.protection import crypto
from portal.protection.envelope import decrypt_file, open_identity
from portal.reports.models import Report, ReporterIdentity
from tests.functional.test_public_flow import PNG
from tests.helpers import StubClassifier, file_report

TEXT = "Cán bộ thuế phường nhận tiền để bỏ qua sai phạm của cửa hàng vật liệu xây dựng."


@pytest.fixture
def keyed_app(app, tmp_path):
    """Apps on the test database with their own keys folder (so rotating never touches the
    keys of the rest of the test session)."""

    def make():
        return create_app({
            "TESTING": True, "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": app.config["SECRET_KEY"],
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "UPLOAD_FOLDER": str(tmp_path / "uploads"), "KEYS_FOLDER": str(tmp_path / "keys"),
            "RATELIMIT_STORAGE_URI": "memory://", "FILING_RATE_LIMIT": "1000 per minute",
            "LOOKUP_RATE_LIMIT": "1000 per minute", "JOBS_MODE": "inline",
            "CLASSIFIER_FACTORY": lambda app: StubClassifier(),
        })

    made = []

    def factory():
        made.append(make())
        return made[-1]

    yield factory
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def everything_readable(app) -> list:
    """Decrypt every report's text, identity and files with ``app``'s keys."""
    seen = []
    with app.app_context():
        storage = app.config["UPLOAD_FOLDER"]
        for report in db.session.scalars(select(Report).order_by(Report.id)):
            identity = open_identity(report.identity) if report.identity else None
            files = [decrypt_file(report, (Path(storage) / a.stored_name).read_bytes())
                     for a in report.attachments]
            seen.append((report.text, identity and identity["name"], files))
        db.session.remove()
    return seen


def key_ids(app, column) -> set[str]:
    with app.app_context():
        ids = set(db.session.scalars(select(column).distinct()))
        db.session.remove()
        return ids


def test_content_key_rotation_rewraps_every_report_and_finish_retires_the_old_key(keyed_app):
    first = keyed_app()
    keys_dir = first.extensions["tinbao.keys"].content_key_file.parent
    old_key = crypto.read_key_file(keys_dir / "content.key")
    old_kid = crypto.content_key_id(old_key)
    file_report(first.test_client(), text=TEXT, identity_choice="named", name="Phùng Văn Lộc",
                attachments=[(io.BytesIO(PNG), "anh.png")])
    before = everything_readable(first)
    stale = keyed_app()  # a portal process started before the rotation

    result = first.test_cli_runner().invoke(args=["keys", "rotate-content"])
    assert result.exit_code == 0, result.output
    new_key = crypto.read_key_file(keys_dir / "content.key")
    new_kid = crypto.content_key_id(new_key)
    assert new_kid != old_kid and f"bằng khóa nội dung {new_kid}" in result.output
    assert (keys_dir / "retired" / f"content-{old_kid}.key").exists()
    assert not (keys_dir / "content.key.next").exists()
    assert key_ids(first, Report.content_key_id) == {new_kid}
    assert everything_readable(keyed_app()) == before  # a fresh process, new key files
    # A process started before the rotation still reads everything (it finds the new key).
    assert everything_readable(stale) == before

    # The stale process still files with the old key; --finish re-wraps that report too.
    file_report(stale.test_client(), text=TEXT)
    assert key_ids(first, Report.content_key_id) == {new_kid, old_kid}
    status = first.test_cli_runner().invoke(args=["keys", "status"]).output
    assert f"{old_kid}: 1 hồ sơ" in status and f"{new_kid}: 1 hồ sơ" in status
    result = first.test_cli_runner().invoke(args=["keys", "rotate-content", "--finish"])
    assert result.exit_code == 0, result.output
    assert f"Đã xóa khóa cũ không còn dùng: {old_kid}" in result.output
    assert not (keys_dir / "retired" / f"content-{old_kid}.key").exists()
    assert key_ids(first, Report.content_key_id) == {new_kid}
    after = everything_readable(keyed_app())
    assert after[0] == before[0] and after[1][0] == TEXT

    # The old key alone opens nothing any more.
    with first.app_context():
        report = db.session.scalar(select(Report).order_by(Report.id))
        with pytest.raises(crypto.DecryptionFailed):
            crypto.decrypt(old_key, report.content_key_wrapped, "content-data-key")
        db.session.remove()


def test_custodian_key_rotation_reseals_every_identity(keyed_app):
    first = keyed_app()
    keys_dir = first.extensions["tinbao.keys"].custodian_key_file.parent
    old_private = nacl.public.PrivateKey(crypto.read_key_file(keys_dir / "custodian.key"))
    old_kid = crypto.custodian_key_id(old_private.public_key)
    for name in ("Phùng Văn Lộc", "Hà Thị Mơ"):
        file_report(first.test_client(), text=TEXT, identity_choice="named", name=name)
    before = everything_readable(first)
    stale = keyed_app()

    result = first.test_cli_runner().invoke(args=["keys", "rotate-custodian"])
    assert result.exit_code == 0, result.output
    new_private = nacl.public.PrivateKey(crypto.read_key_file(keys_dir / "custodian.key"))
    new_kid = crypto.custodian_key_id(new_private.public_key)
    assert new_kid != old_kid
    assert crypto.read_key_file(keys_dir / "custodian.pub") == bytes(new_private.public_key)
    assert (keys_dir / "retired" / f"custodian-{old_kid}.key").exists()
    assert key_ids(first, ReporterIdentity.custodian_key_id) == {new_kid}
    assert everything_readable(keyed_app()) == before
    assert everything_readable(stale) == before

    result = first.test_cli_runner().invoke(args=["keys", "rotate-custodian", "--finish"])
    assert result.exit_code == 0, result.output
    assert not (keys_dir / "retired" / f"custodian-{old_kid}.key").exists()
    assert [item[1] for item in everything_readable(keyed_app())] == ["Phùng Văn Lộc",
                                                                       "Hà Thị Mơ"]
    with first.app_context():
        identity = db.session.scalar(select(ReporterIdentity))
        with pytest.raises(nacl.exceptions.CryptoError):
            nacl.public.SealedBox(old_private).decrypt(identity.identity_key_sealed)
        db.session.remove()


def test_custodian_rotation_needs_the_private_key_here(keyed_app, tmp_path):
    first = keyed_app()
    keys_dir = tmp_path / "keys"
    (keys_dir / "custodian.key").rename(tmp_path / "custodian.key.offline")
    public_only = keyed_app()  # only custodian.pub on this machine
    assert not public_only.extensions["tinbao.keys"].can_open_identity
    file_report(public_only.test_client(), text=TEXT, identity_choice="named", name="Lò Văn Pá")
    result = public_only.test_cli_runner().invoke(args=["keys", "rotate-custodian"])
    assert result.exit_code != 0 and "private key is not on this machine" in result.output
    assert first.extensions["tinbao.keys"].can_open_identity
    assert everything_readable(first)[0][1] == "Lò Văn Pá"


def test_key_files_are_private(keyed_app, tmp_path):
    keyed_app()
    keys_dir = tmp_path / "keys"
    for name in ("content.key", "custodian.key", "custodian.pub", "index.key"):
        assert (keys_dir / name).stat().st_mode & 0o777 == 0o600, name
    assert keys_dir.stat().st_mode & 0o777 == 0o700


def test_reindex_rebuilds_the_search_tokens(keyed_app):
    first = keyed_app()
    file_report(first.test_client(), text=TEXT)
    with first.app_context():
        from portal.protection.models import ReportSearchToken

        db.session.query(ReportSearchToken).delete()
        db.session.commit()
        db.session.remove()
    result = first.test_cli_runner().invoke(args=["keys", "reindex"])
    assert result.exit_code == 0 and "1 hồ sơ" in result.output
    with first.app_context():
        from portal.reports.handling import queue_query

        assert len(db.session.scalars(queue_query(search="vat lieu xay dung")).all()) == 1
        db.session.remove()


def test_without_key_generation_a_missing_keys_folder_stops_the_portal(app, tmp_path):
    with pytest.raises(crypto.KeyUnavailable, match="no content key"):
        create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path),
                    "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                    "KEYS_FOLDER": str(tmp_path / "missing"), "KEYS_GENERATE": False})
    assert not (tmp_path / "missing").exists()
