"""HTML pages of the catalog: the home page, search results and the procedure page.

Routes parse the request, call the catalog service and render its plain dicts. The
template filters and globals below only put values into words for people: money in đồng,
processing times, levels of government, pagination windows. They never read the database.
"""

from __future__ import annotations

from datetime import datetime

from flask import g, render_template, request
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from markupsafe import Markup

from portal.cache import anonymous_page, cached_text
from portal.catalog import bp, service
from portal.catalog.queries import SearchParams
from portal.errors import ValidationFailed
from services_catalog.normalize import fold

# Levels of government offered on the home page (the district level ended on 1 July 2025).
HOME_LEVELS = ("central", "province", "commune", "other")


@bp.get("/")
def home():
    return anonymous_page(service.CACHE_NS, "home", _home_page)


def _home_page() -> str:
    return render_template(
        "catalog/home.html",
        popular=service.popular(),
        fields=_by_name(service.fields()),
        home_levels=HOME_LEVELS,
    )


@bp.get("/thu-tuc")
def search():
    try:
        params = service.parse_search_params(request.args)
    except ValidationFailed as exc:
        # No links keep the bad values, so they do not ride along with the next search.
        errors = readable_errors(exc.errors())
        return _search_page(_echo_form(request.args), query={}, results=None, errors=errors), 400
    form = service.search_params_dict(params)
    return _search_page(form, query=_query_args(form), results=service.search(params), errors=[])


@bp.get("/thu-tuc/<code>")
def procedure(code: str):
    return anonymous_page(service.CACHE_NS, "procedure:" + code[:80], lambda: _procedure_page(code))


def _procedure_page(code: str) -> str:
    title, body = procedure_fragment(code, g.lang)
    # The body is our own template's output, escaped when it was rendered.
    return render_template("catalog/procedure.html", p={"name": title}, body=Markup(body))  # noqa: S704


def procedure_fragment(code: str, lang: str) -> tuple[str, str]:
    """The procedure page's title and rendered content, cached per procedure and language.

    The content is the same for every visitor (no forms, nothing personal), so it is
    rendered once and kept until an import invalidates the catalog.

    :raises NotFound: no procedure has this code.
    """
    key = code[:80]
    title = cached_text(service.CACHE_NS, f"page-title:{key}", lambda: service.procedure(code)["name"])
    body = cached_text(
        service.CACHE_NS,
        f"page-body:{lang}:{key}",
        lambda: render_template("catalog/_procedure_body.html", p=service.procedure(code)),
    )
    return title, body


def _search_page(form: dict, *, query: dict, results: dict | None, errors: list[str]) -> str:
    return render_template(
        "catalog/search.html",
        form=form,
        query=query,
        results=results,
        errors=errors,
        filters=_filter_options(),
    )


def _filter_options() -> dict:
    """Choices of the search filters: fields, provinces and ministries with an agency code."""
    return {
        "levels": service.LEVELS,
        "fields": _by_name(f for f in service.fields() if f["procedures"]),
        "provinces": _by_name(p for p in service.provinces() if p["agency_code"]),
        "ministries": _by_name(
            a for a in service.agencies() if a["level"] == "central" and a["code"] and a["active"]
        ),
    }


def _by_name(items) -> list[dict]:
    # Databases order by code point ("Huế" before "Hà Nội"); people expect the alphabet.
    return sorted(items, key=lambda item: (fold(item["name"]), item["name"]))


# The longest value of each parameter echoed back into the form after a failed search.
_ECHO_LIMITS = {
    "q": service.MAX_QUERY_LENGTH,
    "level": 16,
    "agency": 32,
    "field": 64,
    "online_level": 1,
    "full_online": 5,
}


def _echo_form(unsafe_args) -> dict:
    """What the person typed, cut to size, to show again beside the error."""
    form = {name: (unsafe_args.get(name) or "")[:limit] for name, limit in _ECHO_LIMITS.items()}
    if len(unsafe_args.get("q") or "") > service.MAX_QUERY_LENGTH:
        form["q"] = ""
    form["full_online"] = form["full_online"].lower() in ("1", "true", "on")
    return form


def _query_args(form: dict) -> dict:
    """The search's non-default parameters, to keep in pagination and filter links."""
    args = {name: form.get(name) for name in ("q", "level", "agency", "field", "online_level")}
    args["full_online"] = 1 if form.get("full_online") else None
    args["per_page"] = form["per_page"] if form.get("per_page") != SearchParams.per_page else None
    return {name: value for name, value in args.items() if value not in (None, "")}


def readable_errors(errors: list[dict]) -> list[str]:
    """Turn the service's validation errors into sentences in the person's language."""
    readable = {
        "q": _(
            "The search text is too long or contains characters that cannot be used. "
            "Use at most %(limit)d characters.",
            limit=service.MAX_QUERY_LENGTH,
        ),
        "level": _("Choose a level of government from the list."),
        "agency": _("Choose a province or ministry from the list."),
        "field": _("Choose a field from the list."),
        "online_level": _("The online service level must be 3 or 4."),
        "full_online": _("The “fully online only” option is not valid."),
        "page": _("The page number is not valid."),
        "per_page": _(
            "The number of results per page must be between 1 and %(limit)d.", limit=service.MAX_PER_PAGE
        ),
    }
    messages = []
    for error in errors:
        parameter = error.get("field") or (error.get("message") or "").split(" ", 1)[0]
        message = readable.get(parameter, _("One of the search options is not valid."))
        if message not in messages:
            messages.append(message)
    return messages


@bp.app_template_filter("level_label")
def level_label(level: str | None) -> str:
    labels = {
        "central": _("Central government"),
        "province": _("Province"),
        "district": _("District (before 1 July 2025)"),
        "commune": _("Commune"),
        "other": _("Other agencies"),
    }
    return labels.get(level or "other", level or "")


@bp.app_template_filter("channel_label")
def channel_label(channel: dict) -> str:
    labels = {1: _("In person"), 2: _("Online"), 3: _("By post")}
    return labels.get(channel.get("channel"), channel.get("name") or "")


@bp.app_template_filter("dong")
def dong(amount: int) -> str:
    """An amount of đồng the Vietnamese way, whatever the page language: 100.000 đ."""
    return f"{amount:,}".replace(",", ".") + " đ"


@bp.app_template_filter("duration")
def duration(timing: dict) -> str | None:
    """A processing time in words (``1 ngày làm việc``), or None when the source gives none."""
    amount = timing.get("amount")
    if amount is None:
        return None
    if isinstance(amount, float) and amount.is_integer():
        amount = int(amount)
    number = format_decimal(amount)
    count = 1 if amount == 1 else 2  # plural choice only; gettext wants a whole number
    unit = timing.get("unit")
    if unit == "working_day":
        return ngettext("%(amount)s working day", "%(amount)s working days", count, amount=number)
    if unit == "day":
        return ngettext("%(amount)s day", "%(amount)s days", count, amount=number)
    if unit == "hour":
        return ngettext("%(amount)s hour", "%(amount)s hours", count, amount=number)
    return _("%(amount)s (no unit given)", amount=number)


@bp.app_template_filter("fee")
def fee(item: dict) -> dict:
    """A fee as ``{"kind", "amount", "note"}`` for display; ``kind`` is None when unspecified."""
    kinds = {"phi": _("Fee"), "le_phi": _("Charge")}
    description = (item.get("description") or "").strip()
    amount = item.get("amount")
    if item.get("currency") == "USD" and item.get("foreign_amount"):
        shown = f"{item['foreign_amount']} USD"
    elif amount == 0:
        shown = _("Free")
        if description.lower() in ("miễn phí", "mien phi", "không", "0"):
            description = ""
    elif amount is not None:
        shown = dong(amount)
    else:
        shown = None
    return {"kind": kinds.get(item.get("kind")), "amount": shown, "note": description}


@bp.app_template_filter("day")
def day(iso: str | None) -> str:
    """An ISO date or timestamp as dd/mm/yyyy, the way both languages read it on the portal."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).strftime("%d/%m/%Y")
    except ValueError:
        return iso


@bp.app_template_filter("group_consecutive")
def group_consecutive(items: list[dict], key: str) -> list[dict]:
    """Runs of items sharing ``item[key]``, in their original order (Jinja's groupby sorts)."""
    groups: list[dict] = []
    for item in items:
        value = (item.get(key) or "").strip()
        if not groups or groups[-1]["key"] != value:
            groups.append({"key": value, "items": []})
        groups[-1]["items"].append(item)
    return groups


@bp.app_template_global("page_window")
def page_window(page: int, pages: int, around: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last and those near ``page``; None marks a gap."""
    shown = sorted({1, pages, *range(max(1, page - around), min(pages, page + around) + 1)})
    window: list[int | None] = []
    for number in shown:
        if window and number - window[-1] > 1:  # type: ignore[operator]
            window.append(None)
        window.append(number)
    return window
