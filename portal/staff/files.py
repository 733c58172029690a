"""Authorised attachment downloads: always as a download, never rendered inline.

Files are stored encrypted with their report's data key and decrypted here, in memory, for an
authorised user only. Agencies get a neutral file name: the name on the reporter's device often
carries their own name.
"""

import io

from flask import Blueprint, abort, current_app, send_file
from flask_login import current_user

from portal.attachments import LocalFileStorage
from portal.audit import services as audit
from portal.extensions import db
from portal.protection.envelope import decrypt_file
from portal.reports import handling
from portal.reports.models import Attachment
from portal.staff.access import role_required

bp = Blueprint("files", __name__, url_prefix="/staff/files")


@bp.get("/<int:attachment_id>")
@role_required("triage", "supervisor", "admin", "agency")
def download(attachment_id: int):
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        abort(404)
    if current_user.role == "agency" and not handling.agency_may_see(current_user,
                                                                    attachment.report):
        abort(404)
    audit.record("download_attachment", user=current_user, report=attachment.report,
                 attachment_id=attachment.id)
    db.session.commit()
    path = LocalFileStorage(current_app.config["UPLOAD_FOLDER"]).path(attachment.stored_name)
    try:
        data = decrypt_file(attachment.report, path.read_bytes())
    except FileNotFoundError:
        abort(404)
    response = send_file(io.BytesIO(data), mimetype="application/octet-stream",
                         as_attachment=True, download_name=download_name(attachment), max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def download_name(attachment) -> str:
    """The reporter's file name for the Front; "tep-dinh-kem-<id>.<ext>" for an agency."""
    if current_user.role == "agency":
        return neutral_name(attachment)
    return attachment.original_name


def neutral_name(attachment) -> str:
    from portal.attachments import ALLOWED_MIME

    extension = ALLOWED_MIME.get(attachment.content_type, "bin")
    return f"tep-dinh-kem-{attachment.id}.{extension}"
