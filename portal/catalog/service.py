"""Catalog operations used by the pages and the API: validated, cached reads.

Every read returns plain data (dicts), cached under the ``catalog`` namespace that an
import invalidates.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict

from flask import current_app, has_request_context, request

from portal.cache import cached, cached_text
from portal.catalog import queries
from portal.catalog.queries import SearchParams
from portal.errors import NotFound, ValidationFailed
from portal.ratelimit import hit
from services_catalog.models import GOV_LEVEL_CODES

MAX_QUERY_LENGTH = 200
MAX_PER_PAGE = 100
MAX_PAGE = 10_000
LEVELS = tuple(GOV_LEVEL_CODES)
CACHE_NS = "catalog"
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,9}")


def _metered(compute):
    """``compute`` counted against the client's allowance of catalog queries.

    Catalog reads are exempt from the default per-request limit: a cached answer costs
    less than counting it would. What visitors can make expensive is a read the cache
    cannot answer (any new query string, any unknown code), so those are what is limited,
    per client address (CATALOG_QUERY_LIMIT).

    :raises RateLimited: the address has used its allowance.
    """

    def run():
        if has_request_context():
            hit(current_app.config["CATALOG_QUERY_LIMIT"], "catalog-query", request.remote_addr or "-")
        return compute()

    return run


def _int(name: str, unsafe: str | None, default: int, low: int, high: int, errors: list) -> int:
    if unsafe is None or unsafe == "":
        return default
    # Plain ASCII digits only: Python's int() also takes "1_0", " 5 " and other scripts' digits.
    try:
        if not _WHOLE_NUMBER.fullmatch(unsafe):
            raise ValueError(unsafe)
        value = int(unsafe)
    except ValueError:
        errors.append(
            {"error": "ValidationError", "field": name, "message": f"{name} must be a whole number"}
        )
        return default
    if not low <= value <= high:
        errors.append(
            {"error": "ValidationError", "field": name, "message": f"{name} must be between {low} and {high}"}
        )
        return default
    return value


def parse_search_params(unsafe_args) -> SearchParams:
    """Validate query-string arguments of a search.

    :raises ValidationFailed: with one error entry per bad parameter.
    """
    errors: list[dict] = []
    q = unsafe_args.get("q", "") or ""
    if len(q) > MAX_QUERY_LENGTH:
        errors.append(
            {
                "error": "ValidationError",
                "field": "q",
                "message": f"q must be at most {MAX_QUERY_LENGTH} characters",
            }
        )
        q = ""
    if "\x00" in q:
        errors.append(
            {"error": "ValidationError", "field": "q", "message": "q must not contain NUL characters"}
        )
        q = ""
    level = unsafe_args.get("level") or None
    if level is not None and level not in LEVELS:
        errors.append(
            {
                "error": "ValidationError",
                "field": "level",
                "message": f"level must be one of {', '.join(LEVELS)}",
            }
        )
        level = None
    agency = unsafe_args.get("agency") or None
    if agency is not None and (len(agency) > 32 or "\x00" in agency):
        errors.append(
            {"error": "ValidationError", "field": "agency", "message": "agency must be an agency code"}
        )
        agency = None
    field = unsafe_args.get("field") or None
    if field is not None and (len(field) > 64 or "\x00" in field):
        errors.append({"error": "ValidationError", "field": "field", "message": "field must be a field code"})
        field = None
    online_level = unsafe_args.get("online_level") or None
    if online_level is not None:
        if online_level not in ("3", "4"):
            errors.append(
                {
                    "error": "ValidationError",
                    "field": "online_level",
                    "message": "online_level must be 3 or 4",
                }
            )
        online_level = int(online_level) if online_level in ("3", "4") else None
    full_online_raw = (unsafe_args.get("full_online") or "").lower()
    if full_online_raw not in ("", "0", "1", "true", "false", "on"):
        errors.append(
            {
                "error": "ValidationError",
                "field": "full_online",
                "message": "full_online must be true or false",
            }
        )
    full_online = full_online_raw in ("1", "true", "on")
    page = _int("page", unsafe_args.get("page"), 1, 1, MAX_PAGE, errors)
    per_page = _int("per_page", unsafe_args.get("per_page"), 20, 1, MAX_PER_PAGE, errors)
    if errors:
        raise ValidationFailed(errors[0]["message"], details=errors)
    return SearchParams(
        q=q.strip(),
        level=level,
        agency=agency,
        field=field,
        online_level=online_level,
        full_online=full_online,
        page=page,
        per_page=per_page,
    )


def search(params: SearchParams) -> dict:
    """One page of results: ``{"items", "total", "page", "per_page", "pages"}``."""

    def compute() -> dict:
        result = queries.search_procedures(params)
        return {
            "items": result.items,
            "total": result.total,
            "page": result.page,
            "per_page": result.per_page,
            "pages": result.pages,
        }

    return cached(CACHE_NS, "search:" + params.cache_key(), _metered(compute))


def search_json(params: SearchParams) -> str:
    """:func:`search` as its finished JSON body, for the API (no decode and re-encode)."""
    return cached_text(CACHE_NS, "search-json:" + params.cache_key(), lambda: _to_json(search(params)))


def procedure_json(code: str) -> str:
    """:func:`procedure` as its finished JSON body.

    :raises NotFound: no procedure has this code.
    """
    body = cached_text(CACHE_NS, "procedure-json:" + code[:80], lambda: _to_json(_procedure_or_empty(code)))
    if body == "{}":
        raise NotFound("no procedure with this code")
    return body


def _procedure_or_empty(code: str) -> dict:
    try:
        return procedure(code)
    except NotFound:
        return {}


def _to_json(data) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def procedure(code: str) -> dict:
    """The whole procedure.

    :raises NotFound: no procedure has this code.
    """
    if len(code) > 64 or "\x00" in code:
        raise NotFound("no procedure with this code")
    found = cached(CACHE_NS, "procedure:" + code, _metered(lambda: queries.get_procedure(code) or {}))
    if not found:
        raise NotFound("no procedure with this code")
    return found


def agencies() -> list[dict]:
    return cached(CACHE_NS, "agencies", queries.list_agencies)


def fields() -> list[dict]:
    return cached(CACHE_NS, "fields", queries.list_fields)


def provinces() -> list[dict]:
    return cached(CACHE_NS, "provinces", queries.list_provinces)


def popular() -> list[dict]:
    codes = current_app.config.get("POPULAR_PROCEDURES") or []
    return cached(CACHE_NS, "popular:" + ",".join(codes), lambda: queries.popular_procedures(codes))


def search_params_dict(params: SearchParams) -> dict:
    return asdict(params)
