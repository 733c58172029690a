"""Supervision (giám sát): the figures supervisors follow, the periodic reports made from them,
the public transparency page (docs/supervision.md), and clusters and hot spots of reports
about the same matter (clusters.py, hotspots.py)."""
