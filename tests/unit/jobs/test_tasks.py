"""The portal's tasks as jobs: the daily reminders (once a day, no message twice after a
crash), cleaning stored attachments again (each file replaced exactly once), classification."""

import io
from datetime import timedelta

import pytest
from PIL import Image, PngImagePlugin
from sqlalchemy import select

from portal import notify, scrub
from portal.extensions import db
from portal.jobs import enqueue, run_job, services
from portal.jobs.attachments import attempt_file_name
from portal.jobs.models import DONE, QUEUED, Job
from portal.protection import envelope
from portal.reports.models import Attachment
from portal.timeutil import utcnow
from tests.helpers import file_report
from tests.unit.deadlines.test_reminders import late_cases, messages, outbox  # noqa: F401
from tests.unit.jobs.conftest import job_row, tomorrow_at

# --- Daily reminders ----------------------------------------------------------------------------

def test_the_reminder_job_is_added_once_a_day_after_its_hour(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_DAILY_REMIND_AT", "07:00")
    with app.app_context():
        assert services.sweep(tomorrow_at(6, 59)).scheduled == []
        (key,) = services.sweep(tomorrow_at(7, 0)).scheduled
        assert services.sweep(tomorrow_at(7, 1)).scheduled == []
        assert services.sweep(tomorrow_at(23, 0)).scheduled == []
        job = db.session.scalar(select(Job))
    day = tomorrow_at(7).astimezone(services.VN_TZ).date().isoformat()
    assert key == job.unique_key == f"deadlines.remind:{day}"
    assert (job.kind, job.payload, job.status) == ("deadlines.remind", {"day": day}, DONE)

    monkeypatch.setitem(app.config, "JOBS_DAILY_REMIND_AT", "")
    with app.app_context():
        assert services.sweep(tomorrow_at(7) + timedelta(days=1)).scheduled == []


class CrashAfterFirstSend:
    """A sender after the file sender that fails once: the message is out, but the run dies
    before recording it (as a worker killed at that moment would)."""

    def __init__(self):
        self.crashed = False

    def send(self, notification):
        if not self.crashed:
            self.crashed = True
            raise ConnectionError("worker died")


def test_a_reminder_run_that_died_after_sending_does_not_send_twice(
        app, monkeypatch, outbox, late_cases):  # noqa: F811
    crash = CrashAfterFirstSend()
    monkeypatch.setitem(app.extensions, "tinbao.notifier", notify.Notifier(
        [notify.FileSender(outbox, "nhac-han@tinbao.test"), crash]))
    with app.app_context():
        job = enqueue("deadlines.remind", day="2026-09-15")
        db.session.commit()  # runs inline: the first message is written, then the crash
        job_id = job.id
    assert crash.crashed and job_row(app, job_id).status == QUEUED
    assert len(list(outbox.iterdir())) == 1
    assert run_job(app, job_id, now=utcnow() + timedelta(seconds=31)) == "done"
    sent = messages(outbox)
    assert set(sent) == {"front", "police-officer", "boss"}
    assert all(len(mails) == 1 for mails in sent.values())  # the first one not again
    assert sent["front"][0]["Message-ID"].startswith("<20260915")


@pytest.fixture
def keyed_folder(tmp_path):
    return tmp_path / "outbox"


def test_the_file_sender_writes_a_keyed_message_once(keyed_folder):
    sender = notify.FileSender(keyed_folder)
    message = notify.Notification("lan", None, "Chủ đề", "Nội dung", key="20260915abc123")
    first = sender.send(message)
    assert sender.send(message) == first
    assert [p.name for p in keyed_folder.iterdir()] == ["20260915abc123-lan.eml"]
    assert b"Message-ID: <20260915abc123@tinbao.local>" in first.read_bytes()
    with pytest.raises(ValueError):
        sender.send(notify.Notification("lan", None, "s", "b", key="../x"))


# --- Attachments cleaned again ------------------------------------------------------------------

def _png(text: str | None = None) -> bytes:
    image = Image.new("RGB", (40, 30), (200, 30, 30))
    info = None
    if text:
        info = PngImagePlugin.PngInfo()
        info.add_text("Author", text)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


@pytest.fixture
def stored_png(app, client):
    """A filed PNG whose stored copy still carries a text chunk (as if an older scrubber had
    let it through); returns the attachment id."""
    file_report(client, attachments=[(io.BytesIO(_png()), "anh.png")])
    with app.app_context():
        attachment = db.session.scalar(select(Attachment))
        report = attachment.report
        dirty = _png("Nguyễn Văn Tố")
        path = _folder(app) / attachment.stored_name
        path.write_bytes(envelope.encrypt_file(report, dirty))
        attachment.size_bytes = len(dirty)
        attachment.sha256 = envelope.file_digest(report, dirty)
        db.session.commit()
        return attachment.id


def _folder(app):
    from pathlib import Path

    return Path(app.config["UPLOAD_FOLDER"])


def _stored(app, attachment_id) -> tuple[str, bytes]:
    with app.app_context():
        attachment = db.session.get(Attachment, attachment_id)
        data = envelope.decrypt_file(attachment.report,
                                     (_folder(app) / attachment.stored_name).read_bytes())
        assert envelope.file_digest(attachment.report, data) == attachment.sha256
        assert attachment.size_bytes == len(data)
        return attachment.stored_name, data


def test_rescrub_replaces_a_file_that_still_has_metadata_once(app, runner, stored_png):
    old_name, dirty = _stored(app, stored_png)
    assert b"Author" in dirty
    result = runner.invoke(args=["jobs", "rescrub-attachments"])
    assert "Đã xếp 1 việc" in result.output, result.output
    new_name, clean = _stored(app, stored_png)
    assert new_name != old_name and b"Author" not in clean
    assert scrub.scrub("image/png", clean) == clean
    # The old file went with the follow-up job; nothing else is left in the folder.
    assert sorted(p.name for p in _folder(app).iterdir()) == [new_name]
    with app.app_context():
        kinds = db.session.execute(
            select(Job.kind, Job.status).order_by(Job.id)
            .where(Job.kind.not_in(["classify_report", "search.index_report"]))).all()
    assert [tuple(k) for k in kinds] == [("attachments.rescrub", DONE),
                                         ("attachments.delete_file", DONE)]

    runner.invoke(args=["jobs", "rescrub-attachments"])  # already clean: left alone
    assert _stored(app, stored_png)[0] == new_name


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs, not even the job's error handling."""


def test_a_rescrub_killed_before_its_commit_leaves_no_stray_file(app, stored_png, recording,
                                                                monkeypatch):
    old_name, _dirty = _stored(app, stored_png)
    with app.app_context():
        job = enqueue("attachments.rescrub", attachment_id=stored_png)
        db.session.commit()
        job_id = job.id

    def kill(job):
        raise Killed

    monkeypatch.setitem(app.config, "JOBS_BEFORE_COMMIT", kill)
    with pytest.raises(Killed):
        run_job(app, job_id)
    with app.app_context():
        first_try, second_try = (attempt_file_name(job_id, n) for n in (1, 2))
    assert (_folder(app) / first_try).exists()  # written, never committed
    assert _stored(app, stored_png)[0] == old_name

    monkeypatch.setitem(app.config, "JOBS_BEFORE_COMMIT", None)
    later = utcnow() + timedelta(seconds=float(app.config["JOBS_LEASE_SECONDS"]) + 1)
    with app.app_context():
        assert services.sweep(later, schedule=False).due == [job_id]
    assert run_job(app, job_id, now=later) == "done"
    new_name, clean = _stored(app, stored_png)
    assert new_name == second_try and b"Author" not in clean
    assert not (_folder(app) / first_try).exists()
    # The old file is deleted by the follow-up job (the recording runner holds it here).
    (follow_up,) = recording.delivered[1:]
    assert run_job(app, follow_up) == "done"
    assert sorted(p.name for p in _folder(app).iterdir()) == [new_name]


def test_a_clean_jpeg_is_not_encoded_again(app, client, runner):
    image = Image.effect_noise((64, 48), 40).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    file_report(client, attachments=[(io.BytesIO(out.getvalue()), "anh.jpg")])
    with app.app_context():
        attachment_id = db.session.scalar(select(Attachment.id))
    before = _stored(app, attachment_id)
    runner.invoke(args=["jobs", "rescrub-attachments", "--content-type", "image/jpeg"])
    assert _stored(app, attachment_id) == before


def test_delete_file_never_deletes_a_file_in_use(app, stored_png):
    name, _data = _stored(app, stored_png)
    with app.app_context():
        job = enqueue("attachments.delete_file", stored_name=name)
        db.session.commit()
        assert db.session.get(Job, job.id).status == DONE
    assert (_folder(app) / name).exists()
