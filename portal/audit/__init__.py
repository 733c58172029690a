"""Audit trail of staff actions and case views."""
