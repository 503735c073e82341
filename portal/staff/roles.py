"""Staff roles and what each may do. Service functions call :func:`require` first.

Back-office screens built by other modules (deliveries, partner credentials, payments,
reconciliation, catalog imports) have their permissions here already, so their services
check the same table, and :data:`NAV_ITEMS` shows their links once their routes exist.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.errors import Forbidden

AGENT, SUPERVISOR, OFFICER, ADMIN = "agent", "supervisor", "agency_officer", "admin"
ROLES = (AGENT, SUPERVISOR, OFFICER, ADMIN)
ROLE_LABELS = {
    AGENT: _l("Support agent"),
    SUPERVISOR: _l("Supervisor"),
    OFFICER: _l("Agency officer"),
    ADMIN: _l("Administrator"),
}

_ALL = frozenset(ROLES)
_DESK = frozenset({AGENT, SUPERVISOR, ADMIN})
_LEADS = frozenset({SUPERVISOR, ADMIN})

PERMISSIONS: dict[str, frozenset[str]] = {
    "backoffice.home": _ALL,
    "stats.view": _ALL,
    "tickets.work": _ALL,  # officers: tickets of their agencies only
    "tickets.assign": _DESK,
    "tickets.merge": _DESK,
    "tickets.forward": _DESK,
    "calls.log": _DESK,
    "canned.use": _ALL,
    "canned.manage": _LEADS,
    "publication.propose": _DESK,
    "publication.approve": _LEADS,
    "audit.view": _LEADS,
    "staff.manage": frozenset({ADMIN}),
    # Screens of other modules (their services check these).
    "deliveries.manage": frozenset({SUPERVISOR, ADMIN, OFFICER}),
    "partners.manage": frozenset({ADMIN}),
    "payments.view": _ALL,
    "payments.refund": _LEADS,
    "reconciliation.view": _LEADS,
    "catalog.imports": frozenset({ADMIN}),
}

# The back office's navigation: (endpoint, label, permission). A link shows when its
# endpoint exists in this app and the staff member holds the permission.
NAV_ITEMS: list[tuple[str, object, str]] = [
    ("staff.home", _l("Overview"), "backoffice.home"),
    ("desk.queue", _l("Feedback tickets"), "tickets.work"),
    ("desk.calls", _l("Phone calls"), "calls.log"),
    ("desk.canned", _l("Canned responses"), "canned.use"),
    ("desk.publications", _l("Publication"), "publication.propose"),
    ("staff.statistics_page", _l("Statistics"), "stats.view"),
    ("deliveries.failed", _l("Partner deliveries"), "deliveries.manage"),
    ("partners.credentials", _l("Partner credentials"), "partners.manage"),
    ("payments_admin.search", _l("Payments"), "payments.view"),
    ("payments_admin.reconciliation", _l("Reconciliation"), "reconciliation.view"),
    ("catalog_admin.imports", _l("Catalog imports"), "catalog.imports"),
    ("staff.audit", _l("Audit log"), "audit.view"),
    ("staff.accounts", _l("Staff accounts"), "staff.manage"),
]


def can(staff, permission: str) -> bool:
    """Whether ``staff`` (a StaffUser, or None) holds ``permission``. Unknown names: no."""
    return bool(staff is not None and staff.is_active and staff.role in PERMISSIONS.get(permission, ()))


def require(staff, permission: str) -> None:
    """:raises Forbidden: ``staff`` does not hold ``permission``."""
    if not can(staff, permission):
        from flask_babel import gettext as _

        raise Forbidden(_("You do not have access to this page."), token="Forbidden")


# The permission each back-office route needs, by endpoint, or by "endpoint METHOD" where a
# page's GET and POST differ. Checked before the view runs (``check_route_permission``),
# so a refused role gets 403 whatever it sends; the service functions check again. A staff
# route missing here is refused to everyone (fail closed), and the role matrix test fails.
ROUTE_PERMISSIONS: dict[str, str] = {
    "staff.home": "backoffice.home",
    "staff.sign_out": "backoffice.home",
    "staff.password": "backoffice.home",  # one's own password: every role
    "staff.statistics_page": "stats.view",
    "staff.accounts": "staff.manage",
    "staff.create_account": "staff.manage",
    "staff.account": "staff.manage",
    "staff.reset_two_factor": "staff.manage",
    "staff.reset_password": "staff.manage",
    "staff.audit": "audit.view",
    "desk.queue": "tickets.work",
    "desk.ticket": "tickets.work",
    "desk.attachment": "tickets.work",
    "desk.reply": "tickets.work",
    "desk.note": "tickets.work",
    "desk.assign": "tickets.work",
    "desk.status": "tickets.work",
    "desk.merge": "tickets.merge",
    "desk.link": "tickets.merge",
    "desk.forward": "tickets.forward",
    "desk.propose": "publication.propose",
    "desk.calls": "calls.log",
    "desk.canned": "canned.use",
    "desk.canned POST": "canned.manage",
    "desk.canned_edit": "canned.manage",
    "desk.publications": "publication.propose",
    "desk.publication": "publication.propose",
    "desk.publication POST": "publication.approve",
    # Partner deliveries (portal.sync.backoffice_views).
    "deliveries.failed": "deliveries.manage",
    "deliveries.delivery": "deliveries.manage",
    "deliveries.retry": "deliveries.manage",
    "deliveries.retry_selected": "deliveries.manage",
    # Partner credentials (portal.sync.backoffice_views).
    "partners.credentials": "partners.manage",
    "partners.create": "partners.manage",
    "partners.rotate": "partners.manage",
    "partners.revoke_secret": "partners.manage",
    "partners.switch": "partners.manage",
    # Payments and reconciliation (portal.payments.backoffice_views).
    "payments_admin.search": "payments.view",
    "payments_admin.payment": "payments.view",
    "payments_admin.receipt": "payments.view",
    "payments_admin.refund": "payments.refund",
    "payments_admin.reconciliation": "reconciliation.view",
    "payments_admin.reconciliation_csv": "reconciliation.view",
    # Catalog imports (portal.catalog.backoffice_views).
    "catalog_admin.imports": "catalog.imports",
    "catalog_admin.start_import": "catalog.imports",
    "catalog_admin.import_run": "catalog.imports",
}


def check_route_permission():
    """Runs after ``require_staff``: 403 unless the staff member holds the route's permission."""
    from flask import g, request

    from portal.errors import error_response

    endpoint = request.endpoint or ""
    permission = ROUTE_PERMISSIONS.get(f"{endpoint} {request.method}") or ROUTE_PERMISSIONS.get(endpoint)
    if permission is None or not can(g.get("staff"), permission):
        from flask_babel import gettext as _

        return error_response(
            403, [{"error": "Forbidden", "message": _("You do not have access to this page.")}]
        )
    return None
