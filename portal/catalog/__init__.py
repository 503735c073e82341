"""Catalog pages: home, search, procedure page. Open to everyone.

Blueprints, guards declared here: ``catalog`` (public) and ``catalog_admin`` (the back
office's catalog imports: ``require_staff`` and the route permissions of
portal.staff.roles).
"""

from flask import Blueprint

from portal.catalog import tasks  # noqa: F401 - registers the catalog.* jobs
from portal.security import guard, public_access
from portal.staff import _route_permissions, require_staff

bp = guard(Blueprint("catalog", __name__), public_access)
admin_bp = guard(Blueprint("catalog_admin", __name__, url_prefix="/quan-tri/danh-muc"), require_staff)
_route_permissions(admin_bp)  # after the guard: roles per route (portal.staff.roles)
