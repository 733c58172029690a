"""Legal deadlines: the working-day calendar, the rules of routing.md's "Deadlines" table
(deadlines.yaml), the deadlines of each report, extensions and the daily reminders.

See docs/deadlines.md.
"""
