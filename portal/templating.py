"""Jinja filters and globals shared by public and staff templates."""

from flask import request, url_for
from flask_babel import get_locale
from flask_babel.speaklater import LazyString

from portal import geo, labels
from portal.deadlines.services import case_deadlines
from portal.reports import status
from portal.timeutil import format_date_vn, format_datetime_vn


def url_with_lang(lang: str) -> str:
    """The current page in another language (a plain link: works without JavaScript)."""
    args = {**(request.view_args or {}), **request.args.to_dict(), "lang": lang}
    if request.endpoint is None or request.method != "GET":
        return url_for("public.index", lang=lang)
    return url_for(request.endpoint, **args)


def escape_lazy_strings(value):
    """Jinja ``finalize``: print lazy translations as plain text, so autoescape applies.

    Flask-Babel's ``LazyString.__html__`` returns the string unescaped, so Jinja would trust a
    message such as ``_l("Tệp “%(name)s” …", name=<the uploaded file's name>)`` as markup: a
    file named ``<img src=x onerror=…>`` ran script on the filing form (found by wapiti,
    docs/security.md). Turned into ``str`` first, every such message is escaped like any text.
    """
    return str(value) if isinstance(value, LazyString) else value


def register_template_helpers(app) -> None:
    app.jinja_env.finalize = escape_lazy_strings
    app.jinja_env.filters["vn_datetime"] = format_datetime_vn
    app.jinja_env.filters["vn_date"] = format_date_vn
    app.jinja_env.globals.update(
        labels=labels,
        status_labels=status.STATUS_LABELS,
        event_labels=status.EVENT_LABELS,
        place_label=geo.place_label,
        case_deadlines=case_deadlines,
        url_with_lang=url_with_lang,
        current_locale=lambda: str(get_locale() or "vi"),
    )
