"""Feedback from citizens (phản ánh, kiến nghị) and the support desk that answers it.

Blueprints, guards declared here:
- ``feedback`` (public): the form (signed-in citizens and guests), a ticket's page (its
  owner, or a guest with the secret link), and the public questions-and-answers page.
- ``desk`` (``require_staff``): queues, tickets, replies and notes, calls, canned
  responses, publication. Roles are checked in ``portal.feedback.desk``'s functions.
"""

from flask import Blueprint

from portal.security import guard, public_access
from portal.staff import _route_permissions, require_staff

bp = guard(Blueprint("feedback", __name__), public_access)
desk_bp = guard(Blueprint("desk", __name__, url_prefix="/quan-tri/phan-anh"), require_staff)
_route_permissions(desk_bp)  # after the guard: roles per route (portal.staff.roles)


def load_views() -> None:
    from portal.feedback import desk_views, views  # noqa: F401
