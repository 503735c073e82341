"""Fee payments: paying a dossier's fees online, the gateway's callbacks, receipts,
refunds and reconciliation.

Blueprints, guards declared here: ``payments`` (signed-in citizens: pay, the return
page, receipts), ``payment_callbacks`` (the gateway; public, every request is
authenticated by its signature in the view, before anything is read or written) and
``payments_admin`` (the back office: ``require_staff`` and the route permissions of
portal.staff.roles: search, refunds, reconciliation).
"""

from flask import Blueprint

from portal.accounts import require_citizen
from portal.payments import tasks  # noqa: F401 - registers the payments.* jobs
from portal.security import guard, public_access
from portal.staff import _route_permissions, require_staff

bp = guard(Blueprint("payments", __name__), require_citizen)
callbacks_bp = guard(Blueprint("payment_callbacks", __name__), public_access)
admin_bp = guard(Blueprint("payments_admin", __name__, url_prefix="/quan-tri/thanh-toan"), require_staff)
_route_permissions(admin_bp)  # after the guard: roles per route (portal.staff.roles)


def load_views() -> None:
    """Import the route modules (they attach to the blueprints above)."""
    from portal.payments import backoffice_views, callbacks, views  # noqa: F401
