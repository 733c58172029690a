"""The seeded agency directory for Thái Nguyên province (province code 19).

Loading is idempotent: rows are matched by ``code``, so re-running set-up never duplicates
agencies nor undoes an admin's edits.
"""

from sqlalchemy import select

from portal import geo
from portal.agencies.models import Agency
from portal.extensions import db

THAI_NGUYEN = 19

# Provincial bodies (routing.md's agency kinds). Departments carry the sectors they answer for
# (routing.md, sector → department).
PROVINCIAL = [
    ("tn-police", "police", "Công an tỉnh Thái Nguyên (Cơ quan Cảnh sát điều tra)", []),
    ("tn-military-investigation", "military_investigation",
     "Cơ quan Điều tra hình sự Quân khu 1", []),
    ("tn-procuracy", "procuracy", "Viện kiểm sát nhân dân tỉnh Thái Nguyên", []),
    ("tn-inspectorate", "inspectorate", "Thanh tra tỉnh Thái Nguyên", []),
    ("tn-party-inspection", "party_inspection", "Ủy ban Kiểm tra Tỉnh ủy Thái Nguyên", []),
    ("tn-people-committee", "people_committee_province", "Ủy ban nhân dân tỉnh Thái Nguyên", []),
    ("tn-court", "court", "Tòa án nhân dân tỉnh Thái Nguyên", []),
    ("tn-enforcement", "enforcement", "Thi hành án dân sự tỉnh Thái Nguyên", []),
    ("tn-front", "front", "Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh Thái Nguyên", []),
    ("tn-dept-agriculture-environment", "department", "Sở Nông nghiệp và Môi trường tỉnh Thái Nguyên",
     ["land", "environment_resources"]),
    ("tn-dept-construction", "department", "Sở Xây dựng tỉnh Thái Nguyên",
     ["construction_investment"]),
    ("tn-dept-finance", "department", "Sở Tài chính tỉnh Thái Nguyên",
     ["procurement", "public_finance", "state_enterprise"]),
    ("tn-dept-industry-trade", "department", "Sở Công Thương tỉnh Thái Nguyên", ["economy_market"]),
    ("tn-dept-health", "department", "Sở Y tế tỉnh Thái Nguyên", ["health"]),
    ("tn-dept-education", "department", "Sở Giáo dục và Đào tạo tỉnh Thái Nguyên", ["education"]),
    ("tn-dept-home-affairs", "department", "Sở Nội vụ tỉnh Thái Nguyên",
     ["social_welfare", "personnel"]),
]


def directory_rows():
    """Every seeded agency as ``(code, kind, name, province, ward, sectors)``."""
    for code, kind, name, sectors in PROVINCIAL:
        yield code, kind, name, THAI_NGUYEN, None, sectors
    # Since 1/7/2025 each commune/ward has its own People's Committee and police.
    for ward_code, ward_name in geo.wards_of(THAI_NGUYEN):
        yield f"tn-{ward_code}-pc", "people_committee_commune", f"Ủy ban nhân dân {ward_name}", \
            THAI_NGUYEN, ward_code, []
        yield f"tn-{ward_code}-police", "police", f"Công an {ward_name}", THAI_NGUYEN, ward_code, []


def load_directory() -> int:
    """Insert the seeded agencies that are missing; returns how many were added.

    Existing rows are left alone so that an admin's edits survive a re-run of set-up.
    """
    existing = set(db.session.scalars(select(Agency.code)))
    created = 0
    for code, kind, name, province, ward, sectors in directory_rows():
        if code not in existing:
            db.session.add(Agency(code=code, kind=kind, name=name, province_code=province,
                                  ward_code=ward, sectors=sectors, active=True))
            created += 1
    db.session.commit()
    return created
