"""The back office: staff sign-in (public, two steps), and the staff-only pages.

Blueprints, guards declared here:
- ``staff_auth`` (public): sign-in with password, then the two-factor code or its enrolment.
- ``staff`` (``require_staff``): overview, staff accounts, audit log, statistics, sign-out.
- ``statistics`` (public): the portal's published statistics.

``require_staff`` admits a signed-in staff session only; a citizen's session is a different
marker and never passes. What each role may do is checked by the service functions
(portal.staff.roles) and proven by tests/staff/test_role_matrix.py.
"""

from flask import Blueprint, jsonify, redirect, request, url_for

from portal.security import guard, public_access

_WHILE_MUST_CHANGE = frozenset({"staff.password", "staff.sign_out"})


def require_staff():
    """Staff only: pages redirect to the staff sign-in, APIs get 401."""
    from portal.staff.sessions import load_staff

    staff = load_staff()
    if staff is not None and staff.password_must_change and request.endpoint not in _WHILE_MUST_CHANGE:
        # A temporary password (an administrator's reset) opens nothing but its replacement.
        if request.path.startswith("/api/"):
            from portal.errors import error_response

            return error_response(
                403, [{"error": "PasswordChangeRequired", "message": "change your password"}]
            )
        return redirect(url_for("staff.password"))
    if staff is not None:
        return None
    if request.path.startswith("/api/"):
        response = jsonify(
            {"status_code": 401, "errors": [{"error": "Unauthorized", "message": "staff sign-in required"}]}
        )
        response.status_code = 401
        return response
    return redirect(url_for("staff_auth.sign_in", next=request.full_path.rstrip("?")))


auth_bp = guard(Blueprint("staff_auth", __name__, url_prefix="/quan-tri"), public_access)
bp = guard(Blueprint("staff", __name__, url_prefix="/quan-tri"), require_staff)
statistics_bp = guard(Blueprint("statistics", __name__), public_access)


def _route_permissions(blueprint: Blueprint) -> None:
    from portal.staff.roles import check_route_permission

    blueprint.before_request(check_route_permission)


_route_permissions(bp)  # after the guard: roles per route (portal.staff.roles)


def load_views() -> None:
    from portal.staff import statistics_views, views  # noqa: F401


def current_staff():
    """The staff member of this request (set by ``require_staff``)."""
    from flask import g

    return g.get("staff")
