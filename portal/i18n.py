"""Language choice: ?lang= (remembered in a cookie), then the cookie, then Vietnamese."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request

LANG_COOKIE = "lang"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        # Jobs and the CLI: callers pick a language with flask_babel.force_locale.
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    unsafe_lang = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    if unsafe_lang in languages:
        return unsafe_lang
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def register_i18n(app: Flask) -> None:
    from portal.extensions import babel

    babel.init_app(app, locale_selector=select_locale)

    @app.before_request
    def remember_choice():
        g.lang = select_locale()

    @app.after_request
    def set_lang_cookie(response):
        unsafe_lang = request.args.get("lang")
        if unsafe_lang in app.config["LANGUAGES"] and request.cookies.get(LANG_COOKIE) != unsafe_lang:
            response.set_cookie(LANG_COOKIE, unsafe_lang, max_age=365 * 24 * 3600,
                                samesite="Lax", secure=app.config["SESSION_COOKIE_SECURE"])
        return response

    @app.context_processor
    def language_links():
        def url_for_lang(lang: str) -> str:
            args = request.args.to_dict(flat=False)
            args["lang"] = [lang]
            from urllib.parse import urlencode

            return request.path + "?" + urlencode(args, doseq=True)

        return {"current_lang": g.get("lang", "vi"), "url_for_lang": url_for_lang}
