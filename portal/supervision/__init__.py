"""Supervision (giám sát): the figures supervisors follow, the periodic reports made from them,
the public transparency page (docs/supervision.md), and clusters and hot spots of reports
about the same matter (clusters.py, hotspots.py). The figures read facts kept in step with the
history and stored counts (facts.py, models.py), kept by ``flask supervision …`` (cli.py)."""
