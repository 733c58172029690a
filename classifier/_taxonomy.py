"""The codes of /work/shared/spec/taxonomy.md (a contract: keep them stable), in its order."""

from __future__ import annotations

SECTORS: tuple[str, ...] = (
    "land",
    "environment_resources",
    "construction_investment",
    "procurement",
    "public_finance",
    "state_enterprise",
    "economy_market",
    "health",
    "education",
    "social_welfare",
    "personnel",
    "admin_procedure",
    "justice",
    "public_order",
    "other",
)
REPORT_TYPES: tuple[str, ...] = ("crime_report", "denunciation", "complaint", "petition")
SUBJECTS: tuple[str, ...] = ("ordinary", "official", "party_member", "judicial_officer", "none")
FLAGS: tuple[str, ...] = (
    "corruption",
    "urgent",
    "mass",
    "press",
    "judicial_officer",
    "party_member",
    "repeat",
)

# The multi-class heads of the model and their codes.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "sector": SECTORS,
    "report_type": REPORT_TYPES,
    "subject": SUBJECTS,
}
