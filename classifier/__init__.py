"""tinbao's report classifier: sector, report type and signs of a crime.

Standalone: imports nothing from ``portal``. The portal calls it after a report is stored.
"""

__all__: list[str] = []
