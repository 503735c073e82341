"""JSON API of the catalog, under /api/v1 (read-only, public).

Documented in the portal's OpenAPI document (portal.catalog.schemas). Errors, including
invalid parameters (400, one entry per parameter) and unknown codes (404), use the portal's
one error shape through portal.errors.
"""

from flask import Blueprint, Response, jsonify, request

from portal.catalog import service
from portal.security import guard, public_access

bp = guard(Blueprint("catalog_api", __name__, url_prefix="/api/v1"), public_access)

# The catalog changes when an import runs; a minute of staleness lets shared caches and
# partners absorb repeated reads.
CACHE_SECONDS = 60


@bp.after_request
def cache_catalog_reads(response):
    if request.method in ("GET", "HEAD") and response.status_code == 200:
        response.cache_control.public = True
        response.cache_control.max_age = CACHE_SECONDS
    return response


@bp.get("/procedures")
def search_procedures():
    params = service.parse_search_params(request.args)
    return Response(service.search_json(params), mimetype="application/json")


@bp.get("/procedures/<unsafe_code>")
def get_procedure(unsafe_code: str):
    return Response(service.procedure_json(unsafe_code), mimetype="application/json")


@bp.get("/agencies")
def list_agencies():
    return jsonify({"items": service.agencies()})


@bp.get("/fields")
def list_fields():
    return jsonify({"items": service.fields()})


@bp.get("/provinces")
def list_provinces():
    return jsonify({"items": service.provinces()})
