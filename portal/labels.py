"""People-facing labels for the codes of shared/spec/taxonomy.md and routing.md.

Vietnamese is the source language; English comes from the translation catalogue.
"""

from flask_babel import lazy_gettext as _l

REPORT_TYPE_LABELS = {
    "crime_report": _l("Tố giác, tin báo về tội phạm"),
    "denunciation": _l("Tố cáo"),
    "complaint": _l("Khiếu nại"),
    "petition": _l("Kiến nghị, phản ánh"),
}

REPORT_TYPE_HELP = {
    "crime_report": _l(
        "Bạn biết một hành vi có dấu hiệu tội phạm đã hoặc đang xảy ra: trộm cắp, lừa đảo, "
        "ma túy, đánh bạc, nhận hối lộ, tham ô…"
    ),
    "denunciation": _l(
        "Bạn báo cho cơ quan có thẩm quyền biết một cán bộ, cơ quan hoặc tổ chức vi phạm "
        "pháp luật, gây thiệt hại cho Nhà nước hoặc người khác."
    ),
    "complaint": _l(
        "Bạn không đồng ý với một quyết định hay việc làm của cơ quan nhà nước ảnh hưởng đến "
        "quyền lợi của chính bạn (ví dụ mức bồi thường, quyết định xử phạt)."
    ),
    "petition": _l(
        "Bạn góp ý, đề nghị hoặc phản ánh một vấn đề chung: đường hỏng, ô nhiễm, thủ tục "
        "chậm, dịch vụ công chưa tốt…"
    ),
}

REPORTER_ROLE_LABELS = {
    "citizen": _l("Người dân"),
    "journalist": _l("Nhà báo, phóng viên"),
    "organisation": _l("Cơ quan, tổ chức, doanh nghiệp"),
}

SECTOR_LABELS = {
    "land": _l("Đất đai"),
    "environment_resources": _l("Tài nguyên, khoáng sản, môi trường"),
    "construction_investment": _l("Đầu tư công, xây dựng cơ bản"),
    "procurement": _l("Đấu thầu, mua sắm công"),
    "public_finance": _l("Tài chính – ngân sách, tài sản công"),
    "state_enterprise": _l("Doanh nghiệp nhà nước"),
    "economy_market": _l("Kinh tế, thương mại"),
    "health": _l("Y tế"),
    "education": _l("Giáo dục, đào tạo"),
    "social_welfare": _l("An sinh xã hội, lao động"),
    "personnel": _l("Tổ chức cán bộ, công vụ"),
    "admin_procedure": _l("Thủ tục hành chính, cấp phép"),
    "justice": _l("Hoạt động tư pháp, công an"),
    "public_order": _l("An ninh, trật tự xã hội"),
    "other": _l("Khác"),
}

SUBJECT_LABELS = {
    "ordinary": _l("Người dân, doanh nghiệp"),
    "official": _l("Cán bộ, công chức"),
    "party_member": _l("Đảng viên"),
    "judicial_officer": _l("Cán bộ tư pháp"),
    "none": _l("Không có người vi phạm"),
}

FLAG_LABELS = {
    "corruption": _l("Tham nhũng"),
    "urgent": _l("Khẩn cấp"),
    "mass": _l("Đông người"),
    "press": _l("Báo chí phản ánh"),
    "judicial_officer": _l("Cán bộ tư pháp"),
    "party_member": _l("Đảng viên"),
    "repeat": _l("Đã gửi nhiều lần"),
}

AGENCY_KIND_LABELS = {
    "police": _l("Công an"),
    "military_investigation": _l("Cơ quan điều tra hình sự Quân đội"),
    "procuracy": _l("Viện kiểm sát"),
    "inspectorate": _l("Thanh tra"),
    "people_committee_province": _l("UBND tỉnh"),
    "people_committee_commune": _l("UBND xã, phường"),
    "department": _l("Sở, ngành"),
    "party_inspection": _l("Ủy ban Kiểm tra Đảng"),
    "court": _l("Tòa án"),
    "enforcement": _l("Thi hành án dân sự"),
    "front": _l("Mặt trận Tổ quốc"),
}

# Outcome codes an agency records with its result, by the report type they fit.
OUTCOMES = {
    "prosecuted": (_l("Khởi tố vụ án"), ("crime_report",)),
    "not_prosecuted": (_l("Không khởi tố vụ án"), ("crime_report",)),
    "suspended": (_l("Tạm đình chỉ giải quyết"), ("crime_report",)),
    "founded": (_l("Tố cáo đúng"), ("denunciation",)),
    "partly_founded": (_l("Tố cáo đúng một phần"), ("denunciation",)),
    "unfounded": (_l("Tố cáo sai"), ("denunciation",)),
    "upheld": (_l("Khiếu nại đúng"), ("complaint",)),
    "partly_upheld": (_l("Khiếu nại đúng một phần"), ("complaint",)),
    "rejected": (_l("Khiếu nại sai"), ("complaint",)),
    "answered": (_l("Đã trả lời, giải quyết kiến nghị"), ("petition",)),
    "not_accepted": (_l("Không tiếp thu kiến nghị"), ("petition",)),
    "withdrawn": (
        _l("Người gửi rút đơn, đình chỉ"),
        ("crime_report", "denunciation", "complaint", "petition"),
    ),
}

CONTACT_LABELS = {
    "none": _l("Không liên hệ với tôi, tôi sẽ tự tra cứu bằng mã"),
    "phone": _l("Qua điện thoại"),
    "email": _l("Qua thư điện tử"),
}
