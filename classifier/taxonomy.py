"""The taxonomy's codes (shared/spec/taxonomy.md), public so the portal uses the same tuples."""

from classifier._taxonomy import FLAGS, REPORT_TYPES, SECTORS, SUBJECTS

__all__ = ["FLAGS", "REPORT_TYPES", "SECTORS", "SUBJECTS"]
