"""JSON API of the catalog, under /api/v1 (read-only, public)."""

from flask import Blueprint

from portal.security import guard, public_access

bp = guard(Blueprint("catalog_api", __name__, url_prefix="/api/v1"), public_access)
