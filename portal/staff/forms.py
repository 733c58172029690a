"""Back-office forms (all POST forms carry CSRF through Flask-WTF)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from portal.formutil import choices
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.accounts.models import ROLES
from portal.agencies.models import AGENCY_KINDS
from portal.labels import (
    AGENCY_KIND_LABELS,
    FLAG_LABELS,
    OUTCOMES,
    REPORT_TYPE_LABELS,
    SECTOR_LABELS,
    SUBJECT_LABELS,
)


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ConfirmForm(FlaskForm):
    """No fields: a button whose only protection needed is CSRF."""


class LoginForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(), Length(max=256)])


class CodeForm(FlaskForm):
    """The six-digit code from the authenticator app (login second step and enrolment)."""

    code = StringField(_l("Mã xác thực 6 chữ số"), validators=[DataRequired(), Length(max=16)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Mật khẩu hiện tại"),
                                     validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField(_l("Mật khẩu mới (ít nhất 12 ký tự)"),
                                 validators=[DataRequired(), Length(max=256)])
    confirm_password = PasswordField(_l("Nhập lại mật khẩu mới"),
                                     validators=[DataRequired(), Length(max=256)])


class ClassifyForm(FlaskForm):
    report_type = SelectField(_l("Loại đơn"), choices=choices([("", "—"), *REPORT_TYPE_LABELS.items()]))
    sector = SelectField(_l("Lĩnh vực"), choices=choices([("", "—"), *SECTOR_LABELS.items()]))
    subject = SelectField(_l("Đối tượng bị phản ánh"), choices=choices([("", "—"), *SUBJECT_LABELS.items()]))
    flags = CheckboxListField(_l("Dấu hiệu"), choices=choices(list(FLAG_LABELS.items())))
    crime = SelectField(_l("Có dấu hiệu tội phạm?"), choices=choices(
        [("", _l("Chưa xác định")), ("yes", _l("Có")), ("no", _l("Không"))]))


class TextForm(FlaskForm):
    """A single text: note, message to the reporter, reason for an action."""

    # Emptiness is checked by the service, which knows which message fits the action.
    body = TextAreaField(_l("Nội dung"), validators=[Length(max=10_000)])


class TransferForm(FlaskForm):
    agency_id = SelectField(_l("Cơ quan nhận"), coerce=int, validate_choice=False)
    body = TextAreaField(_l("Lý do, căn cứ chuyển"), validators=[Length(max=5000)])
    # Required (by the service) only when the agency differs from the rules' suggestion.
    override_reason = TextAreaField(_l("Lý do không theo gợi ý (bắt buộc khi chọn cơ quan khác)"),
                                    validators=[Length(max=5000)])


class ReassignForm(FlaskForm):
    """A supervisor gives a report at the Front to another triage officer."""

    officer_id = SelectField(_l("Giao cho cán bộ"), coerce=int, validate_choice=False)


class MergeForm(FlaskForm):
    target_id = IntegerField(_l("Số hồ sơ gốc (phần số sau dấu gạch)"), validators=[DataRequired()])


class ResolveForm(FlaskForm):
    outcome_code = SelectField(
        _l("Kết quả"), choices=choices([("", "—")] + [(code, label) for code, (label, _t) in OUTCOMES.items()])
    )
    body = TextAreaField(_l("Nội dung kết quả giải quyết (người gửi sẽ đọc)"),
                         validators=[Length(max=20_000)])


class AgencyForm(FlaskForm):
    code = StringField(_l("Mã"), validators=[DataRequired(), Length(max=64)])
    kind = SelectField(_l("Loại cơ quan"), choices=choices([(k, AGENCY_KIND_LABELS[k]) for k in AGENCY_KINDS]))
    name = StringField(_l("Tên cơ quan"), validators=[DataRequired(), Length(max=255)])
    province_code = IntegerField(_l("Mã tỉnh"), validators=[Optional()])
    ward_code = IntegerField(_l("Mã xã, phường"), validators=[Optional()])
    sectors = CheckboxListField(_l("Lĩnh vực phụ trách (với Sở)"), choices=choices(list(SECTOR_LABELS.items())))
    active = BooleanField(_l("Đang hoạt động"), default=True)


class UserForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Họ tên hiển thị"), validators=[DataRequired(), Length(max=128)])
    role = SelectField(_l("Vai trò"), choices=choices([(r, r) for r in ROLES]))
    agency_id = SelectField(_l("Cơ quan (với vai trò agency)"), coerce=int, validate_choice=False)
    # Strength (length, common passwords, username) is checked by create_user, with reasons.
    password = PasswordField(_l("Mật khẩu (ít nhất 12 ký tự)"),
                             validators=[DataRequired(), Length(max=256)])


class RedactionForm(FlaskForm):
    """The Front's review of the agency's masked copy. The proposed masks are checkboxes named
    ``mask`` written by the template (their values are checked against fresh proposals)."""

    phrases = TextAreaField(_l("Che thêm các đoạn sau (mỗi dòng một đoạn)"),
                            validators=[Length(max=5000)])


class DisclosureForm(FlaskForm):
    """The custodian gives the identity to the agency handling the case."""

    basis = SelectField(_l("Căn cứ"), choices=[], validate_choice=False)
    reason = TextAreaField(
        _l("Văn bản yêu cầu (số, ngày, cơ quan) và lý do — không ghi danh tính vào đây"),
        validators=[Length(max=2000)])
