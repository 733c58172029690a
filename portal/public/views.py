"""Public views: thin — validate, call a service, redirect or render."""

import logging
from datetime import datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import get_locale

from portal import geo
from portal.antispam import services as antispam
from portal.antispam.views import has_valid_pow, without_pow
from portal.attachments import LocalFileStorage, check_files
from portal.extensions import limiter, lookup_global_limit
from portal.formutil import choices
from portal.labels import REPORT_TYPE_HELP
from portal.protection import disclosure
from portal.public.forms import ConsentForm, LookupForm, ReplyForm, ReportForm
from portal.receipts import new_code
from portal.reports import intake, reporter
from portal.supervision import transparency as public_figures
from portal.timeutil import format_datetime_vn, utcnow

bp = Blueprint("public", __name__)
log = logging.getLogger(__name__)

# Session key holding the keyed hash of the receipt code the reporter opened. The code
# itself is never kept after the request that typed it.
CASE_KEY = "case"


def storage() -> LocalFileStorage:
    return LocalFileStorage(current_app.config["UPLOAD_FOLDER"])


def uploaded_files(field):
    """Check a form's files; returns ``(files, error)``."""
    config = current_app.config
    uploads = [(f.filename, f.stream) for f in request.files.getlist(field.name)]
    return check_files(
        uploads,
        max_files=config["ATTACHMENT_MAX_FILES"],
        max_bytes=config["ATTACHMENT_MAX_BYTES"],
        max_total=config["ATTACHMENT_MAX_TOTAL_BYTES"],
    )


@bp.get("/")
def index():
    """Landing page: who receives reports, what happens next, the reporter's rights."""
    return render_template("public/index.html")


def _province_param() -> int | None:
    try:
        code = int(request.values.get("province_code") or request.args.get("province") or 0)
    except ValueError:
        return None
    return code if geo.province_name(code) else None


def _prepare_location(form: ReportForm, province_code: int | None) -> None:
    unknown = ("", _("Không rõ / không muốn nói"))
    form.province_code.choices = choices(
        [unknown] + [(str(code), name) for code, name in geo.provinces()]
    )
    form.ward_code.choices = choices(
        [unknown] + [(str(code), name) for code, name in geo.wards_of(province_code or 0)]
    )


@bp.route("/gui-tin", methods=["GET", "POST"])
# A filing with a solved proof of work (static/js/pow.js) counts against the higher limit
# instead of the normal one; without one (no JavaScript) the normal limit applies.
@limiter.limit(lambda: current_app.config["FILING_RATE_LIMIT"], methods=["POST"],
               exempt_when=has_valid_pow)
@limiter.limit(lambda: current_app.config["POW_FILING_RATE_LIMIT"], methods=["POST"],
               exempt_when=without_pow, scope="filing-with-pow")
def file_report():
    """The filing form. Without JavaScript the province is chosen first (a GET step) so the
    commune/ward list can be shown before the reporter types anything."""
    form = ReportForm()
    province_code = _province_param()
    _prepare_location(form, province_code)
    step = "details" if (province_code or request.args.get("province") == "0"
                         or request.method == "POST") else "province"
    if request.method == "GET" and province_code:
        form.province_code.data = str(province_code)
    errors: dict = {}
    if form.validate_on_submit():
        files, file_error = uploaded_files(form.attachments)
        try:
            if file_error:
                errors["attachments"] = file_error
            submission = intake.validate(
                form.submission_data(), files, current_app.config,
                require_identity=form.identity_choice.data == "named",
            )
        except intake.ValidationError as exc:
            errors.update(exc.fields)
        if not errors and antispam.honeypot_filled(form.website.data):
            # A bot filled the field no person sees: the same answer as a real filing, but
            # nothing is stored and the code opens nothing.
            log.info("filing dropped: honeypot field filled")
            session["new_receipt"] = {"code": new_code(), "filed_at": utcnow().isoformat()}
            return redirect(url_for("public.receipt"))
        if not errors:
            submission.language = str(get_locale() or "vi")
            report, code = intake.file_report(
                submission, secret_key=current_app.config["SECRET_KEY"], storage=storage()
            )
            session["new_receipt"] = {"code": code, "filed_at": report.created_at.isoformat()}
            return redirect(url_for("public.receipt"))
    elif request.method == "POST":
        errors["csrf"] = _("Biểu mẫu đã hết hạn. Vui lòng gửi lại.")
    if errors:
        flash(_("Tin chưa được gửi. Vui lòng sửa các mục được đánh dấu bên dưới."), "error")
    return render_template(
        "public/file.html", form=form, errors=errors, step=step, province_code=province_code,
        type_help=REPORT_TYPE_HELP,
    ), (422 if errors else 200)


@bp.get("/minh-bach")
def transparency():
    """Aggregate figures of a year to the end of last month, by quarter, report type, sector
    and result, from which no case can be identified (counts under 5 and what would reveal them
    are hidden: portal/supervision/transparency.py). ``?nam=2025`` for an earlier year."""
    until = public_figures.last_published_day(public_figures.today())
    first = min(public_figures.first_year() or until.year, until.year)
    years = list(range(until.year, first - 1, -1))
    chosen = request.args.get("nam", "")
    year = int(chosen) if chosen.isdigit() and int(chosen) in years else until.year
    return render_template("public/transparency.html",
                           figures=public_figures.cached(year, until), years=years)


@bp.get("/bien-nhan")
def receipt():
    """Shows the receipt code exactly once, right after filing."""
    receipt = session.pop("new_receipt", None)
    if not isinstance(receipt, dict):
        return render_template("public/receipt_gone.html")
    filed_at = format_datetime_vn(datetime.fromisoformat(receipt["filed_at"]))
    return render_template("public/receipt.html", code=receipt["code"], now_vn=filed_at)


@bp.route("/tra-cuu", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOOKUP_RATE_LIMIT"], methods=["POST"])
@lookup_global_limit(methods=["POST"])
def lookup():
    """Enter a receipt code to open the case."""
    form = LookupForm()
    error = None
    if form.validate_on_submit():
        found = reporter.find_by_code(form.code.data or "", current_app.config["SECRET_KEY"])
        if found is not None:
            # A fresh session for the opened case; only the language choice is carried over.
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            session.permanent = True
            session[CASE_KEY] = found.receipt_code_hash
            return redirect(url_for("public.case"))
        # One answer for malformed, unknown and wrong codes: nothing to learn from it.
        error = _("Không mở được hồ sơ với mã này. Vui lòng kiểm tra lại mã (20 ký tự).")
    elif request.method == "POST":
        error = _("Biểu mẫu đã hết hạn. Vui lòng nhập lại mã.")
    return render_template("public/lookup.html", form=form, error=error), (
        200 if error is None else 404
    )


def _current_case():
    case_hash = session.get(CASE_KEY)
    return reporter.find_by_hash(case_hash) if case_hash else None


@bp.route("/ho-so", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["FILING_RATE_LIMIT"], methods=["POST"])
def case():
    """The reporter's case: status, history, messages and a reply form."""
    report = _current_case()
    if report is None:
        return redirect(url_for("public.lookup"))
    form = ReplyForm()
    errors: dict = {}
    if form.validate_on_submit():
        files, file_error = uploaded_files(form.attachments)
        text, text_error = intake.check_text(
            form.text.data, min_chars=1, max_chars=current_app.config["MESSAGE_MAX_CHARS"]
        )
        if file_error:
            errors["attachments"] = file_error
        if text_error:
            errors["text"] = text_error
        if not errors:
            reporter.add_reporter_message(report, text, files, storage())
            flash(_("Đã gửi thông tin bổ sung."), "success")
            return redirect(url_for("public.case"))
    elif request.method == "POST":
        errors["text"] = _("Biểu mẫu đã hết hạn. Vui lòng gửi lại.")
    return render_template(
        "public/case.html", view=reporter.public_view(report), form=form, errors=errors,
        consent=None if report.identity is None else report.identity.disclosure_consent,
    ), (422 if errors else 200)


@bp.post("/ho-so/danh-tinh")
@limiter.limit(lambda: current_app.config["FILING_RATE_LIMIT"])
def consent():
    """Give or withdraw consent to disclose the reporter's identity to the handling agency."""
    report = _current_case()
    if report is None:
        return redirect(url_for("public.lookup"))
    form = ConsentForm()
    if not form.validate_on_submit() or form.consent.data not in ("yes", "no"):
        flash(_("Biểu mẫu đã hết hạn. Vui lòng gửi lại."), "error")
        return redirect(url_for("public.case"))
    try:
        disclosure.set_consent(report, form.consent.data == "yes")
    except disclosure.DisclosureError as exc:
        flash(exc.message, "error")
        return redirect(url_for("public.case"))
    if form.consent.data == "yes":
        flash(_("Đã ghi nhận: bạn đồng ý để cơ quan giải quyết biết danh tính của bạn."),
              "success")
    else:
        flash(_("Đã ghi nhận: bạn không đồng ý cung cấp danh tính."), "success")
    return redirect(url_for("public.case"))


@bp.post("/ho-so/doi-ma")
@limiter.limit(lambda: current_app.config["FILING_RATE_LIMIT"])
def rotate_code():
    """Replace the receipt code of the opened case; the new one is shown once."""
    report = _current_case()
    if report is None:
        return redirect(url_for("public.lookup"))
    code = reporter.rotate_code(report, current_app.config["SECRET_KEY"], channel="web")
    # This browser stays on the case; every other holder of the old code is shut out.
    session[CASE_KEY] = report.receipt_code_hash
    session["rotated_receipt"] = code
    return redirect(url_for("public.rotated_code"))


@bp.get("/ho-so/ma-moi")
def rotated_code():
    """Shows the new receipt code exactly once, right after rotating it."""
    code = session.pop("rotated_receipt", None)
    if not isinstance(code, str) or _current_case() is None:
        return render_template("public/receipt_gone.html")
    return render_template("public/receipt_rotated.html", code=code)


@bp.post("/ho-so/thoat")
def leave_case():
    """Forget the opened case in this browser."""
    session.pop(CASE_KEY, None)
    flash(_("Đã đóng hồ sơ trên trình duyệt này."), "success")
    return redirect(url_for("public.index"))
