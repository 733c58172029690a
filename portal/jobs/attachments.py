"""The attachment work that belongs in a worker: cleaning stored files again.

Scrubbing itself stays in the reporter's request (portal/attachments.py ``check_files``): a
file that cannot be cleaned is refused there, with a message the reporter can act on while
they still have the form and the file in front of them, and the original bytes are never
written anywhere (docs/security.md, "Attachments"). Scrubbing later in a worker would mean
storing the original, metadata and all, at least for a while, and telling an anonymous
reporter about a refusal they may never come back to read.

What a worker does is the slow, bulk, retryable part: when the scrubber is improved (a kind of
metadata it missed), `flask jobs rescrub-attachments` queues one ``attachments.rescrub`` job
per stored file, which cleans the file again with the current scrubber and replaces it. The
replacement is done exactly once although files cannot be rolled back:

- the new file is written under a name derived from the job and the attempt, so an attempt
  killed before its commit leaves a file that the next attempt recognises and deletes;
- the attachment row points to the new file in the job's own transaction;
- the old file is deleted by an ``attachments.delete_file`` job queued in that same transaction,
  so it is deleted after the commit, and still deleted if the worker dies just after it.
"""

import hashlib
import hmac
import os
import secrets

from flask import current_app
from sqlalchemy import select

from portal import scrub
from portal.attachments import LocalFileStorage
from portal.extensions import db
from portal.jobs import tasks
from portal.jobs.services import current_job, enqueue
from portal.protection import envelope
from portal.reports.models import Attachment


def _storage() -> LocalFileStorage:
    return LocalFileStorage(current_app.config["UPLOAD_FOLDER"])


def attempt_file_name(job_id: int, attempt: int) -> str:
    """The stored name an attempt writes its cleaned file under: unguessable (keyed) like the
    random names, and the same for the same attempt, so a later attempt can find it."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"rescrub:{job_id}:{attempt}".encode(), hashlib.sha256).hexdigest()[:32]


def _write(storage: LocalFileStorage, name: str, data: bytes) -> None:
    # As LocalFileStorage.save: a temporary file, fsync, then an atomic rename.
    storage.folder.mkdir(parents=True, exist_ok=True)
    path = storage.path(name)
    temp = storage.folder / f".{name}.part"
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def already_clean(content_type: str, data: bytes) -> bool:
    """Whether ``data`` has nothing left to remove. A JPEG is judged by its segments (no
    APPn but a plain JFIF header or Adobe's, no comments): cleaning it again would re-encode
    the picture and lose a little quality each time for nothing."""
    if content_type == "image/jpeg":
        try:
            return scrub._strip_jpeg_segments(data) == data
        except scrub.ScrubError:
            return False
    return False


def rescrub(attachment_id: int) -> None:
    """The ``attachments.rescrub`` task (see the module docstring)."""
    job = current_job()
    attachment = db.session.get(Attachment, attachment_id)
    storage = _storage()
    if job is not None:
        for earlier in range(1, job.attempt):
            name = attempt_file_name(job.id, earlier)
            if attachment is None or name != attachment.stored_name:
                storage.delete(name)
    if attachment is None:
        return  # purged (retention) since the job was queued
    path = storage.path(attachment.stored_name)
    if not path.exists():
        raise tasks.PermanentJobError("stored file missing")
    report = attachment.report
    data = envelope.decrypt_file(report, path.read_bytes())
    if already_clean(attachment.content_type, data):
        return
    try:
        cleaned = scrub.scrub(attachment.content_type, data)
    except scrub.ScrubError as exc:
        # Kept as it is, and failed for an administrator to look at: the file was accepted
        # by an older scrubber, and deleting evidence is not a job's decision.
        raise tasks.PermanentJobError(exc.reason) from None
    if cleaned == data:
        return
    new_name = attempt_file_name(job.id, job.attempt) if job else secrets.token_hex(16)
    _write(storage, new_name, envelope.encrypt_file(report, cleaned))
    old_name = attachment.stored_name
    attachment.stored_name = new_name
    attachment.size_bytes = len(cleaned)
    attachment.sha256 = envelope.file_digest(report, cleaned)
    enqueue("attachments.delete_file", stored_name=old_name)


def delete_file(stored_name: str) -> None:
    """The ``attachments.delete_file`` task: delete a stored file that no attachment points
    to any more (never one still in use)."""
    in_use = db.session.scalar(select(Attachment.id).where(Attachment.stored_name == stored_name))
    if in_use is None:
        _storage().delete(stored_name)


def enqueue_rescrub_all(content_type: str | None = None, *, batch: int = 500) -> int:
    """Queue an ``attachments.rescrub`` job for every stored attachment (of ``content_type``);
    committed in batches. Returns how many."""
    query = select(Attachment.id).order_by(Attachment.id)
    if content_type:
        query = query.where(Attachment.content_type == content_type)
    ids = list(db.session.scalars(query))
    for start in range(0, len(ids), batch):
        for attachment_id in ids[start:start + batch]:
            enqueue("attachments.rescrub", attachment_id=attachment_id)
        db.session.commit()
    return len(ids)
