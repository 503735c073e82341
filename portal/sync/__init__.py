"""Partner sync: ministry and provincial one-stop systems, both directions
(contract/provincial-sync.md).

Two blueprints, guards declared here: ``sync`` (``/api/v1/sync``: signed requests of active
partners) and ``sync_files`` (``/api/sync/files``: attachment links signed by the portal,
handed to partners in deliveries, that expire). Jobs are in ``tasks``, imported here so every
process that loads the app knows them by name.
"""

from flask import Blueprint

from portal.security import guard
from portal.sync import tasks  # noqa: F401 - registers the sync.* jobs
from portal.sync.access import require_partner, require_signed_link

bp = guard(Blueprint("sync", __name__, url_prefix="/api/v1/sync"), require_partner)
files_bp = guard(Blueprint("sync_files", __name__, url_prefix="/api/sync/files"), require_signed_link)


def load_views() -> None:
    from portal.sync import api  # noqa: F401 - routes on the blueprints above
