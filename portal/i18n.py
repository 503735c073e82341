"""Language choice: ?lang= (remembered in a cookie), then the cookie, then Vietnamese."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import flask_babel
from flask import Flask, current_app, g, has_request_context, request
from flask.globals import _cv_app

LANG_COOKIE = "lang"
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _as_datetime(value):
    if not value:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # the database keeps UTC
    return value


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        # Jobs and the CLI: callers pick a language with flask_babel.force_locale.
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    unsafe_lang = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    if unsafe_lang in languages:
        return unsafe_lang
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _translations():
    """This context's catalog, looked up once per locale.

    Flask-Babel resolves the domain, the locale and its cache key on every call (about 25 µs,
    twenty-odd times a page); this keeps what it answered on ``g`` beside the locale it was
    for, so a ``force_locale`` block (which swaps the locale object) gets its own catalog.
    """
    app_ctx = _cv_app.get(None)
    if app_ctx is None:
        return flask_babel.get_translations()
    store = app_ctx.g.__dict__
    state = store.get("_flask_babel")
    cached = store.get("_portal_translations")
    if cached is not None and state is not None and cached[0] is getattr(state, "babel_locale", None):
        return cached[1]
    translations = flask_babel.get_translations()
    state = store.get("_flask_babel")
    store["_portal_translations"] = (getattr(state, "babel_locale", None), translations)
    return translations


def register_i18n(app: Flask) -> None:
    from portal.extensions import babel

    babel.init_app(app, locale_selector=select_locale)
    # The same callables Flask-Babel installs, on the catalog looked up once per request.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )

    @app.before_request
    def remember_choice():
        g.lang = select_locale()

    @app.after_request
    def set_lang_cookie(response):
        unsafe_lang = request.args.get("lang")
        if request.path.startswith("/api/"):
            return response  # machine answers are publicly cacheable: no cookies on them
        if unsafe_lang in app.config["LANGUAGES"] and request.cookies.get(LANG_COOKIE) != unsafe_lang:
            response.set_cookie(
                LANG_COOKIE,
                unsafe_lang,
                max_age=365 * 24 * 3600,
                samesite="Lax",
                secure=app.config["SESSION_COOKIE_SECURE"],
            )
        return response

    @app.template_filter("vn_datetime")
    def vn_datetime(value) -> str:
        """An ISO string or datetime shown in Vietnam time: 24/01/2025 17:00."""
        moment = _as_datetime(value)
        return moment.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M") if moment else "—"

    @app.template_filter("vn_date")
    def vn_date(value) -> str:
        moment = _as_datetime(value)
        return moment.astimezone(VN_TZ).strftime("%d/%m/%Y") if moment else "—"

    @app.context_processor
    def language_links():
        def url_for_lang(lang: str) -> str:
            args = request.args.to_dict(flat=False)
            args["lang"] = [lang]
            from urllib.parse import urlencode

            return request.path + "?" + urlencode(args, doseq=True)

        return {"current_lang": g.get("lang", "vi"), "url_for_lang": url_for_lang}
