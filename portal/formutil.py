"""Small helpers shared by the public and staff forms."""

from wtforms.fields.choices import SelectChoice


def choices(pairs, optgroup: str | None = None) -> list[SelectChoice]:
    """WTForms 3.3+ choices from ``(value, label)`` pairs."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]
