"""Public forms. They carry CSRF and render the fields; the rules live in
:mod:`portal.reports.intake` so the JSON API applies exactly the same checks."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from portal.formutil import choices
from wtforms import (
    BooleanField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)

from portal.labels import CONTACT_LABELS, REPORT_TYPE_LABELS, REPORTER_ROLE_LABELS


class ReportForm(FlaskForm):
    reporter_role = RadioField(
        _l("Bạn là"), choices=choices(list(REPORTER_ROLE_LABELS.items())), default="citizen",
        validate_choice=False,
    )
    affiliation = StringField(_l("Tên cơ quan báo chí hoặc tổ chức"))
    report_type = RadioField(
        _l("Loại tin bạn gửi"),
        choices=choices([*REPORT_TYPE_LABELS.items(), ("", _l("Tôi không chắc — nhờ Mặt trận phân loại"))]),
        default="",
        validate_choice=False,
    )
    text = TextAreaField(_l("Việc gì đã xảy ra?"))
    province_code = SelectField(_l("Tỉnh, thành phố"), validate_choice=False)
    ward_code = SelectField(_l("Xã, phường, đặc khu"), validate_choice=False)
    occurred_on = StringField(_l("Xảy ra vào ngày nào? (nếu biết)"))
    involved = TextAreaField(_l("Những ai liên quan? (nếu biết)"))
    attachments = MultipleFileField(_l("Tệp đính kèm: ảnh, tài liệu, ghi âm, video (nếu có)"))
    identity_choice = RadioField(
        _l("Bạn muốn gửi"),
        choices=choices([
            ("anonymous", _l("Ẩn danh — không ghi thông tin cá nhân")),
            ("named", _l("Có danh tính — ghi họ tên và cách liên hệ")),
        ]),
        default="anonymous",
        validate_choice=False,
    )
    name = StringField(_l("Họ và tên"))
    phone = StringField(_l("Số điện thoại"))
    email = StringField(_l("Thư điện tử"))
    address = StringField(_l("Địa chỉ"))
    id_number = StringField(_l("Số định danh cá nhân / CCCD"))
    disclosure_consent = BooleanField(
        _l("Tôi đồng ý để cơ quan giải quyết biết danh tính của tôi khi cần xác minh")
    )
    contact_preference = RadioField(
        _l("Liên hệ với tôi"), choices=choices(list(CONTACT_LABELS.items())), default="none",
        validate_choice=False,
    )
    # Honeypot (portal/antispam): hidden from people by CSS and from assistive technology by
    # aria-hidden; a person who meets it anyway is told to leave it empty.
    website = StringField(_l("Để trống ô này"))

    def submission_data(self) -> dict:
        """Raw values in the shape :func:`portal.reports.intake.validate` expects."""
        identity = None
        if self.identity_choice.data == "named":
            identity = {
                "name": self.name.data, "phone": self.phone.data, "email": self.email.data,
                "address": self.address.data, "id_number": self.id_number.data,
                "disclosure_consent": self.disclosure_consent.data,
                "contact_preference": self.contact_preference.data,
            }
        return {
            "text": self.text.data,
            "report_type": self.report_type.data,
            "reporter_role": self.reporter_role.data,
            "affiliation": self.affiliation.data,
            "province_code": self.province_code.data,
            "ward_code": self.ward_code.data,
            "occurred_on": self.occurred_on.data,
            "involved": self.involved.data,
            "identity": identity,
        }


class LookupForm(FlaskForm):
    code = StringField(_l("Mã tra cứu"))


class ReplyForm(FlaskForm):
    text = TextAreaField(_l("Trả lời hoặc bổ sung thông tin"))
    attachments = MultipleFileField(_l("Tệp đính kèm (nếu có)"))


class ConsentForm(FlaskForm):
    """Give ("yes") or withdraw ("no") consent to disclose one's identity to the agency."""

    consent = StringField()
