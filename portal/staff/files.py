"""Authorised attachment downloads: always as a download, never rendered inline."""

from flask import Blueprint, abort, current_app, send_file
from flask_login import current_user

from portal.attachments import LocalFileStorage
from portal.audit import services as audit
from portal.extensions import db
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
    response = send_file(path, mimetype="application/octet-stream", as_attachment=True,
                         download_name=attachment.original_name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
