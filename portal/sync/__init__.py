"""Partner sync: ministry and provincial one-stop systems, both directions
(contract/provincial-sync.md).

Blueprints, guards declared here: ``sync`` (``/api/v1/sync``: signed requests of active
partners), ``sync_files`` (``/api/sync/files``: attachment links signed by the portal,
handed to partners in deliveries, that expire), and two back-office ones behind
``require_staff`` and the route permissions of portal.staff.roles: ``deliveries`` (failed
deliveries, retry) and ``partners`` (credentials). Jobs are in ``tasks``, imported here so every
process that loads the app knows them by name.
"""

from flask import Blueprint

from portal.security import guard
from portal.staff import _route_permissions, require_staff
from portal.sync import tasks  # noqa: F401 - registers the sync.* jobs
from portal.sync.access import require_partner, require_signed_link

bp = guard(Blueprint("sync", __name__, url_prefix="/api/v1/sync"), require_partner)
files_bp = guard(Blueprint("sync_files", __name__, url_prefix="/api/sync/files"), require_signed_link)
deliveries_bp = guard(Blueprint("deliveries", __name__, url_prefix="/quan-tri/chuyen-ho-so"), require_staff)
partners_bp = guard(Blueprint("partners", __name__, url_prefix="/quan-tri/doi-tac"), require_staff)
_route_permissions(deliveries_bp)  # after the guard: roles per route (portal.staff.roles)
_route_permissions(partners_bp)


def load_views() -> None:
    from portal.sync import api, backoffice_views  # noqa: F401 - routes on the blueprints above
