"""The back office under ``/staff``: one blueprint per area, all behind a login."""


def register(app) -> None:
    # ``clusters`` adds its pages to the supervision blueprint, so it is imported before that
    # blueprint is registered.
    from portal.staff import (
        admin,
        agency,
        auth,
        clusters,  # noqa: F401
        custodian,
        files,
        supervision,
        triage,
    )

    for module in (auth, triage, agency, admin, supervision, files, custodian):
        app.register_blueprint(module.bp)
