"""Dossiers: drafts, filing, following a dossier, citizens' actions and status changes.

The service layer is ``service`` (writes) and ``queries`` (reads); background jobs are in
``tasks``, imported here so that every process that loads the models (web, RQ worker)
knows the jobs by name.

Two blueprints, guards declared here: ``dossiers`` (signed-in citizens: filing, my
dossiers, a dossier's page and files) and ``lookup`` (public: follow a dossier by its code
and the applicant's phone or ID number).
"""

from flask import Blueprint

from portal.accounts import require_citizen
from portal.dossiers import tasks  # noqa: F401 - registers the dossiers.* jobs
from portal.security import guard, public_access

bp = guard(Blueprint("dossiers", __name__), require_citizen)
lookup_bp = guard(Blueprint("lookup", __name__), public_access)


def load_views() -> None:
    """Import the route modules (they attach to the blueprints above)."""
    import importlib

    for name in ("portal.dossiers.filing_views", "portal.dossiers.views", "portal.dossiers.lookup_views"):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
