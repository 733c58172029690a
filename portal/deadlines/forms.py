"""Forms of the deadlines area (all POST forms carry CSRF through Flask-WTF)."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from portal.deadlines.calendar import DAY_OFF, WORKING
from portal.formutil import choices

ADJUSTMENT_KIND_LABELS = {
    WORKING: _l("Ngày làm việc bù (đi làm dù là thứ Bảy, Chủ nhật hoặc ngày nghỉ)"),
    DAY_OFF: _l("Ngày nghỉ thêm (nghỉ dù là ngày làm việc)"),
}

WEEKDAY_LABELS = (_l("Thứ Hai"), _l("Thứ Ba"), _l("Thứ Tư"), _l("Thứ Năm"), _l("Thứ Sáu"),
                  _l("Thứ Bảy"), _l("Chủ nhật"))


def parse_vn_date(text: str) -> date | None:
    """``dd/mm/yyyy`` (as people in Vietnam write it), or ``yyyy-mm-dd``; None if neither."""
    text = (text or "").strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007 (a date, no time)
        except ValueError:
            continue
    return None


class ExtendDeadlineForm(FlaskForm):
    """Extend one of a case's deadlines: the ground from the rules, and the reason."""

    deadline_id = HiddenField()
    # The grounds depend on the deadline; the service checks the choice.
    ground = SelectField(_l("Căn cứ gia hạn"), validate_choice=False)
    # Emptiness is checked by the service, which says which reason is missing.
    reason = TextAreaField(_l("Lý do gia hạn (người gửi không thấy)"),
                           validators=[Length(max=5000)])

    def chosen_deadline_id(self) -> int | None:
        value = (self.deadline_id.data or "").strip()
        return int(value) if value.isdigit() else None


class CalendarAdjustmentForm(FlaskForm):
    day = StringField(_l("Ngày (dd/mm/yyyy)"), validators=[DataRequired(), Length(max=16)])
    kind = SelectField(_l("Loại điều chỉnh"), choices=choices(list(ADJUSTMENT_KIND_LABELS.items())))
    note = StringField(_l("Căn cứ (số văn bản của Chính phủ, Bộ)"), validators=[Length(max=255)])

    def validate_day(self, field):
        if parse_vn_date(field.data) is None:
            raise ValidationError(_l("Ngày phải có dạng dd/mm/yyyy, ví dụ 02/01/2027."))


class RemoveAdjustmentForm(FlaskForm):
    adjustment_id = HiddenField()
