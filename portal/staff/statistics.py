"""The portal's statistics from the dossier, rating, catalog and feedback tables.

``figures(staff)`` is what the back office shows: an agency officer's figures cover their
agencies only. ``public_figures()`` is the national aggregate for the public page, cached
for CACHE_TTL seconds (the group-bys scan large tables).
"""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa

from portal.cache import cached
from portal.db import utcnow
from portal.dossiers.models import Dossier, Rating
from portal.extensions import db
from portal.feedback.models import Ticket
from portal.payments.models import PAID_STATES, Payment
from portal.staff.roles import require
from portal.staff.scope import agency_scope
from services_catalog.models import Agency, OnlineService

TOP_AGENCIES = 20


def _month(column):
    # The format is a literal, not a bound parameter: PostgreSQL must see the GROUP BY
    # expression and the selected one as the same.
    if db.engine.dialect.name == "sqlite":
        return sa.func.strftime(sa.literal_column("'%Y-%m'"), column)
    return sa.func.to_char(column, sa.literal_column("'YYYY-MM'"))


def _scope_where(query, column, scope: set[int] | None):
    return query if scope is None else query.where(column.in_(scope or [-1]))


def _level1_names() -> dict[str, str]:
    rows = db.session.execute(
        sa.select(Agency.level1_code, Agency.name).where(
            Agency.code.like("000.00.00.%"), Agency.level1_code.is_not(None)
        )
    ).all()
    return {code: name for code, name in rows}


def compute(scope: set[int] | None) -> dict:
    """Every figure, as plain data. ``scope``: agency ids to count, or None for all."""
    now = utcnow()
    filed = Dossier.state == "filed"
    by_status = dict(
        db.session.execute(
            _scope_where(
                sa.select(Dossier.status, sa.func.count()).where(filed), Dossier.agency_id, scope
            ).group_by(Dossier.status)
        ).all()
    )
    names = _level1_names()
    by_level1 = db.session.execute(
        _scope_where(
            sa.select(Agency.level1_code, sa.func.count())
            .select_from(Dossier)
            .join(Agency, Agency.id == Dossier.agency_id)
            .where(filed),
            Dossier.agency_id,
            scope,
        )
        .group_by(Agency.level1_code)
        .order_by(sa.func.count().desc())
        .limit(TOP_AGENCIES)
    ).all()
    finished = _scope_where(
        sa.select(
            sa.func.count(),
            sa.func.sum(sa.case((Dossier.finished_at > Dossier.due_at, 1), else_=0)),
        ).where(filed, Dossier.finished_at.is_not(None), Dossier.due_at.is_not(None)),
        Dossier.agency_id,
        scope,
    )
    finished_total, finished_late = db.session.execute(finished).one()
    overdue_open = db.session.scalar(
        _scope_where(
            sa.select(sa.func.count()).where(filed, Dossier.finished_at.is_(None), Dossier.due_at < now),
            Dossier.agency_id,
            scope,
        )
    )
    ratings = dict(
        db.session.execute(
            _scope_where(
                sa.select(Rating.value, sa.func.count()).join(Dossier, Dossier.id == Rating.dossier_id),
                Dossier.agency_id,
                scope,
            ).group_by(Rating.value)
        ).all()
    )
    since = now - timedelta(days=366)
    received = Ticket.status != "unconfirmed"
    volume = db.session.execute(
        _scope_where(
            sa.select(_month(Ticket.received_at), sa.func.count()).where(
                received, Ticket.received_at >= since
            ),
            Ticket.agency_id,
            scope,
        )
        .group_by(_month(Ticket.received_at))
        .order_by(_month(Ticket.received_at))
    ).all()
    answered_total, answered_late = db.session.execute(
        _scope_where(
            sa.select(
                sa.func.count(), sa.func.sum(sa.case((Ticket.answered_at > Ticket.due_at, 1), else_=0))
            ).where(received, Ticket.answered_at.is_not(None)),
            Ticket.agency_id,
            scope,
        )
    ).one()
    tickets_overdue = db.session.scalar(
        _scope_where(
            sa.select(sa.func.count()).where(Ticket.status.in_(("new", "open")), Ticket.due_at < now),
            Ticket.agency_id,
            scope,
        )
    )
    full = sa.or_(OnlineService.full_online.is_(True), OnlineService.level == 4)
    online = db.session.execute(
        _scope_where(
            sa.select(
                Agency.level1_code,
                sa.func.count(sa.distinct(OnlineService.procedure_id)),
                sa.func.count(sa.distinct(sa.case((full, OnlineService.procedure_id)))),
            ).join(Agency, Agency.id == OnlineService.agency_id),
            OnlineService.agency_id,
            scope,
        ).group_by(Agency.level1_code)
    ).all()
    paid = db.session.execute(
        _scope_where(
            sa.select(
                _month(Payment.succeeded_at),
                sa.func.count(),
                sa.func.sum(Payment.amount - Payment.amount_refunded),
            )
            .join(Dossier, Dossier.id == Payment.dossier_id)
            .where(Payment.state.in_(sorted(PAID_STATES)), Payment.succeeded_at >= since),
            Dossier.agency_id,
            scope,
        )
        .group_by(_month(Payment.succeeded_at))
        .order_by(_month(Payment.succeeded_at))
    ).all()
    finished_total, finished_late = finished_total or 0, finished_late or 0
    answered_total, answered_late = answered_total or 0, answered_late or 0
    return {
        "dossiers_total": sum(by_status.values()),
        "dossiers_by_status": {str(k): v for k, v in sorted(by_status.items(), key=lambda kv: kv[0] or 0)},
        "dossiers_by_agency": [[names.get(code or "", code or "—"), count] for code, count in by_level1],
        "finished": finished_total,
        "finished_late": finished_late,
        "on_time_rate": round(100 * (finished_total - finished_late) / finished_total, 1)
        if finished_total
        else None,
        "overdue_open": overdue_open or 0,
        "ratings": {k: ratings.get(k, 0) for k in ("very_satisfied", "satisfied", "not_satisfied")},
        "tickets_by_month": [[month, count] for month, count in volume if month],
        "tickets_answered": answered_total,
        "tickets_answered_late": answered_late,
        "sla_rate": round(100 * (answered_total - answered_late) / answered_total, 1)
        if answered_total
        else None,
        "tickets_overdue": tickets_overdue or 0,
        # Online fee payments over the last 12 months: [month, payments, đồng kept (net of refunds)].
        "payments_by_month": [[month, count, int(amount or 0)] for month, count, amount in paid if month],
        "payments_total": sum(count for month, count, _amount in paid if month),
        "payments_amount": sum(int(amount or 0) for month, _count, amount in paid if month),
        "full_online_share": sorted(
            (
                [names.get(code or "", code or "—"), round(100 * full_count / total, 1), total]
                for code, total, full_count in online
                if total
            ),
            key=lambda row: (-row[1], row[0]),
        )[:40],
    }


def figures(staff) -> dict:
    """The back office's figures; an agency officer's cover their agencies only.

    :raises Forbidden: the role may not see statistics.
    """
    require(staff, "stats.view")
    return compute(agency_scope(staff))


# Public figures are recomputed at most once per period (seconds).
PUBLIC_PERIOD_SECONDS = 300


def period() -> int:
    """The number of the current period: cache keys carrying it expire with it."""
    return int(time.time() // PUBLIC_PERIOD_SECONDS)


def public_figures() -> dict:
    return cached("stats", f"public:{period()}", lambda: compute(None), ttl=PUBLIC_PERIOD_SECONDS * 2)
