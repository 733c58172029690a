"""Routing: which agency is competent for a report (shared/spec/routing.md, docs/routing.md).

* ``rules.yaml`` — the versioned rules file (data, with each rule's legal basis);
* ``loader`` — reads and checks it; ``phrases`` — finds its phrases in a report;
* ``facts`` — the facts the rules test; ``engine`` — facts + directory → a suggestion (pure);
* ``services`` — the suggestion for a stored report, overrides, returns and re-routes;
* ``cli`` — ``flask --app portal routing suggest``.
"""

from portal.routing.loader import RulesError, load_rules
from portal.routing.services import EXTENSION


def init_app(app) -> None:
    """Load and check the rules once at start-up: a broken rules file stops the portal with
    a message listing its mistakes, rather than routing reports wrongly later."""
    app.extensions[EXTENSION] = load_rules(app.config.get("ROUTING_RULES_FILE"))


__all__ = ["RulesError", "init_app", "load_rules"]
