"""Error pages in the visitor's language; JSON errors for the API. Nothing about the client.

Faults (docs/production.md "Faults"): when the database is unreachable or too busy the visitor
gets 503 "try again" and, when the disk is full, 507 — never a receipt code for a report that
was not kept (portal/reports/intake.py undoes the half-done filing). A reporter whose filing
failed this way gets the form back with what they typed, as after a mistake in the form.
"""

import logging

from flask import flash, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sql_errors

from portal.extensions import db, login_manager
from portal.reports.intake import AttachmentNotStored

log = logging.getLogger(__name__)

# Database errors that mean "not now" rather than "wrong": the server is down or unreachable,
# the connection dropped, the pool is exhausted, a lock wait or deadlock was given up on. The
# transaction was rolled back, so trying again is safe.
DATABASE_UNAVAILABLE = (sql_errors.OperationalError, sql_errors.InterfaceError,
                        sql_errors.TimeoutError)
RETRY_AFTER_SECONDS = 30


def _wants_json() -> bool:
    return request.path.startswith("/api/")


# API clients get a stable code in "error", like the API's own errors ("not_found"); the
# translated title would change with Accept-Language.
_API_ERROR_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found",
                    405: "method_not_allowed", 413: "too_large", 429: "rate_limited",
                    500: "server_error", 503: "unavailable", 507: "insufficient_storage"}


def _page(code: int, title: str, message: str):
    if _wants_json():
        body = {"error": _API_ERROR_CODES.get(code, "error"), "fields": {}, "message": message}
        return jsonify(body), code
    return render_template("error.html", code=code, title=title, message=message), code


def _filing_form_again(code: int, message: str):
    """The filing form again, filled with what the reporter typed, with ``message`` on top.

    Only for a POST of the filing form; files cannot be given back and must be chosen again.
    Nothing here touches the database."""
    # The form's own helpers, so the page is the one the reporter just sent.
    from portal.labels import REPORT_TYPE_HELP
    from portal.public import views as public
    from portal.public.forms import ReportForm

    form = ReportForm()
    province_code = public._province_param()
    public._prepare_location(form, province_code)
    errors = {}
    if any(upload.filename for upload in request.files.getlist(form.attachments.name)):
        errors["attachments"] = _("Tệp đính kèm chưa được lưu: vui lòng chọn lại tệp.")
    flash(message, "error")
    response = render_template("public/file.html", form=form, errors=errors, step="details",
                               province_code=province_code, type_help=REPORT_TYPE_HELP)
    return response, code


def _unavailable(code: int, title: str, message: str, form_message: str):
    if request.method == "POST" and request.endpoint == "public.file_report":
        response, code = _filing_form_again(code, form_message)
    else:
        response, code = _page(code, title, message)
    return response, code, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _roll_back() -> None:
    try:
        db.session.rollback()
    except Exception as exc:  # the connection is already gone
        log.warning("rollback failed: %s", type(exc).__name__)
    # Every page's template context asks Flask-Login for the staff user, which it loads from
    # the database: if that is what just failed, the error page is shown as to a visitor.
    if "_login_user" not in g:
        g._login_user = login_manager.anonymous_user()


def register_error_handlers(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _page(400, _("Phiên làm việc đã hết hạn"),
                     _("Biểu mẫu đã hết hạn hoặc thiếu mã bảo vệ. Vui lòng tải lại trang và "
                       "gửi lại. Chưa có thông tin nào được lưu."))

    @app.errorhandler(400)
    def bad_request(error):
        return _page(400, _("Yêu cầu không hợp lệ"), _("Yêu cầu không hợp lệ. Chưa có gì được lưu."))

    @app.errorhandler(403)
    def forbidden(error):
        return _page(403, _("Không có quyền"), _("Tài khoản của bạn không có quyền xem trang này."))

    @app.errorhandler(404)
    def not_found(error):
        return _page(404, _("Không tìm thấy"), _("Trang bạn tìm không có."))

    @app.errorhandler(405)
    def method_not_allowed(error):
        return _page(405, _("Không được phép"), _("Thao tác này không được phép."))

    @app.errorhandler(413)
    def too_large(error):
        return _page(413, _("Dữ liệu quá lớn"),
                     _("Tệp hoặc nội dung gửi lên quá lớn (tối đa 10 MB mỗi tệp, 25 MB tất cả). "
                       "Chưa có thông tin nào được lưu."))

    @app.errorhandler(429)
    def too_many(error):
        return _page(429, _("Quá nhiều lần thử"),
                     _("Bạn đã thử quá nhiều lần. Vui lòng đợi vài phút rồi thử lại."))

    def database_unavailable(error):
        # The kind of error only: its text may quote a statement or a connection address.
        log.warning("database unavailable, request not completed: %s",
                    type(getattr(error, "orig", None) or error).__name__)
        _roll_back()
        return _unavailable(
            503, _("Hệ thống đang bận"),
            _("Hệ thống đang bận, thông tin chưa được lưu. Vui lòng thử lại sau ít phút."),
            _("Hệ thống đang bận nên tin của bạn chưa được gửi và chưa có mã tra cứu. Nội dung "
              "bạn đã gõ vẫn còn dưới đây: vui lòng bấm “Gửi tin” lại sau ít phút."))

    for error_class in DATABASE_UNAVAILABLE:
        app.register_error_handler(error_class, database_unavailable)

    @app.errorhandler(AttachmentNotStored)
    def attachment_not_stored(error):
        log.error("attachment not stored (%s): filing refused", error)
        _roll_back()
        code = 507 if error.disk_full else 503
        return _unavailable(
            code, _("Máy chủ không lưu được tệp"),
            _("Máy chủ không lưu được tệp đính kèm nên thông tin chưa được gửi và chưa có mã "
              "tra cứu. Vui lòng thử lại sau ít phút."),
            _("Máy chủ không lưu được tệp đính kèm nên tin của bạn chưa được gửi và chưa có mã "
              "tra cứu. Vui lòng thử lại sau ít phút, hoặc gửi tin không kèm tệp rồi gửi bổ "
              "sung tệp sau bằng mã tra cứu."))

    @app.errorhandler(500)
    def server_error(error):
        return _page(500, _("Có lỗi xảy ra"),
                     _("Hệ thống gặp lỗi, thông tin chưa được lưu. Vui lòng thử lại sau ít phút."))
