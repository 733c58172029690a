"""The back office under ``/staff``: one blueprint per area, all behind a login."""


def register(app) -> None:
    from portal.staff import admin, agency, auth, custodian, files, supervision, triage

    for module in (auth, triage, agency, admin, supervision, files, custodian):
        app.register_blueprint(module.bp)
