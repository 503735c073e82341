"""Agency scoping: an agency officer sees only their agencies and everything below them.

Every query of another module that lists agency-bound rows for staff (tickets, dossiers,
deliveries, payments) narrows it with :func:`scoped`::

    query = scoped(select(Ticket), Ticket.agency_id, staff)
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import g

from portal.extensions import db
from portal.staff.roles import OFFICER
from services_catalog.models import Agency


def subtree_ids(root_ids: list[int] | set[int]) -> set[int]:
    """The given agencies and every agency below them (a recursive query over parent links)."""
    if not root_ids:
        return set()
    tree = sa.select(Agency.id).where(Agency.id.in_(list(root_ids))).cte("tree", recursive=True)
    tree = tree.union(sa.select(Agency.id).join(tree, Agency.parent_id == tree.c.id))
    return set(db.session.scalars(sa.select(tree.c.id)))


def agency_scope(staff) -> set[int] | None:
    """None for staff who see every agency; the set of agency ids an officer may see
    (empty if none assigned). Cached for the request."""
    if staff.role != OFFICER:
        return None
    cache = g.setdefault("_agency_scopes", {})
    if staff.id not in cache:
        cache[staff.id] = subtree_ids({a.id for a in staff.agencies})
    return cache[staff.id]


def scoped(query, agency_column, staff):
    """``query`` limited to rows whose ``agency_column`` is in the staff member's scope."""
    scope = agency_scope(staff)
    if scope is None:
        return query
    return query.where(agency_column.in_(scope or [-1]))


def in_scope(staff, agency_id: int | None) -> bool:
    scope = agency_scope(staff)
    return scope is None or (agency_id is not None and agency_id in scope)
