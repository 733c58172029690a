"""``/pow/challenge`` and the check the filing routes use to pick their rate limit."""

from flask import Blueprint, current_app, g, jsonify, request

from portal.antispam import services
from portal.extensions import limiter

bp = Blueprint("antispam", __name__)


@bp.get("/pow/challenge")
@limiter.limit(lambda: current_app.config["POW_CHALLENGE_RATE_LIMIT"])
def pow_challenge():
    """A fresh proof-of-work challenge for ``static/js/pow.js`` (JSON, short-lived)."""
    config = current_app.config
    return jsonify(services.new_challenge(
        config["SECRET_KEY"], config["POW_DIFFICULTY"], config["POW_MAX_AGE"]
    ))


def has_valid_pow() -> bool:
    """Whether this request carries a fresh, correctly solved, unused challenge.

    Called by the rate limiter before the view runs (``exempt_when``); the answer is kept on
    ``g`` because a challenge is spent the first time it is checked.
    """
    if "tinbao_pow_ok" not in g:
        ok = False
        solution = request.form.get(services.POW_FIELD) if request.method == "POST" else None
        if solution:
            config = current_app.config
            challenge_id = services.check_solution(
                solution, secret_key=config["SECRET_KEY"], max_age=config["POW_MAX_AGE"],
                min_difficulty=config["POW_DIFFICULTY"],
            )
            ok = challenge_id is not None and services.spend(
                limiter.storage, challenge_id, config["POW_MAX_AGE"]
            )
        g.tinbao_pow_ok = ok
    return g.tinbao_pow_ok


def without_pow() -> bool:
    return not has_valid_pow()
