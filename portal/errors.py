"""Error pages in the visitor's language; JSON errors for the API. Nothing about the client."""

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError


def _wants_json() -> bool:
    return request.path.startswith("/api/")


# API clients get a stable code in "error", like the API's own errors ("not_found"); the
# translated title would change with Accept-Language.
_API_ERROR_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found",
                    405: "method_not_allowed", 413: "too_large", 429: "rate_limited",
                    500: "server_error"}


def _page(code: int, title: str, message: str):
    if _wants_json():
        body = {"error": _API_ERROR_CODES.get(code, "error"), "fields": {}, "message": message}
        return jsonify(body), code
    return render_template("error.html", code=code, title=title, message=message), code


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

    @app.errorhandler(500)
    def server_error(error):
        return _page(500, _("Có lỗi xảy ra"),
                     _("Hệ thống gặp lỗi, thông tin chưa được lưu. Vui lòng thử lại sau ít phút."))
