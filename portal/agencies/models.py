"""The agency directory."""

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db

# Agency kinds from shared/spec/routing.md (a contract: keep codes stable).
AGENCY_KINDS = (
    "police",
    "military_investigation",
    "procuracy",
    "inspectorate",
    "people_committee_province",
    "people_committee_commune",
    "department",
    "party_inspection",
    "court",
    "enforcement",
    "front",
)


class Agency(db.Model):
    """A body that can receive transferred reports (one row per body, e.g. one ward's police)."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(255))
    province_code: Mapped[int | None] = mapped_column(Integer, index=True)
    # Commune-level bodies (ward police, ward People's Committee) carry their ward.
    ward_code: Mapped[int | None] = mapped_column(Integer, index=True)
    # Sectors a department is competent for (routing.md's sector → department table).
    sectors: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __repr__(self) -> str:
        return f"<Agency {self.code}>"
