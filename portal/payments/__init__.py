"""Fee payments: paying a dossier's fees online, the gateway's callbacks, receipts,
refunds and reconciliation.

Two blueprints, guards declared here: ``payments`` (signed-in citizens: pay, the return
page, receipts) and ``payment_callbacks`` (the gateway; public, every request is
authenticated by its signature in the view, before anything is read or written).
"""

from flask import Blueprint

from portal.accounts import require_citizen
from portal.payments import tasks  # noqa: F401 - registers the payments.* jobs
from portal.security import guard, public_access

bp = guard(Blueprint("payments", __name__), require_citizen)
callbacks_bp = guard(Blueprint("payment_callbacks", __name__), public_access)


def load_views() -> None:
    """Import the route modules (they attach to the blueprints above)."""
    from portal.payments import callbacks, views  # noqa: F401
