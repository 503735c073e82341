"""Inbound dossier events from partners: one batch, one transaction.

How a batch is applied (contract/provincial-sync.md, "Inbound"):

1. The body was checked whole (:mod:`portal.sync.validation`); invalid events are already
   ``rejected``.
2. The dossiers the batch names are locked (``SELECT ... FOR UPDATE`` in code order, with
   their open pause); then those filed at a counter that the portal does not know yet are
   created (INSERT ... ON CONFLICT DO NOTHING in code order, so two batches creating one
   dossier make one) and locked the same way. Every batch takes its locks in these two
   phases, each in code order, so a batch only ever waits for one that is further along: two
   batches touching the same dossiers wait for each other instead of deadlocking, and the
   second sees what the first committed. (Should PostgreSQL still report a deadlock or a
   unique violation from a race, the batch is rolled back and run again, see 5.)
3. Event ids this partner already sent are ``duplicate``.
4. The events of each dossier are taken in time order and judged against its current state in
   memory: ``stale`` (older than its newest event), ``rejected`` (``InvalidTransition`` out of a
   final status, ``OutsideJurisdiction``, ``UnknownDossier``) or ``applied``. A stale event
   makes the dossier's clock be replayed from its whole history, so pauses and due dates end
   as if the events had arrived in order.
5. Everything is written with a few multi-row statements, and committed. A unique violation
   (a concurrent batch with the same event ids on other dossiers) or a deadlock rolls the
   batch back and runs it again (up to 3 times), where those events are then ``duplicate``.
6. A status 6 event with an ``amount`` adds it to what the dossier owes when the event is
   stored, ``applied`` or ``stale`` (a request for payment reported late is still a
   request), keyed like the event by source and event id: one more statement for the whole
   batch, and none when no event of the batch carries an amount
   (portal.payments.fees.record_amounts_due).

No per-event SAVEPOINT: every refusal is decided in memory before writing, under the
dossiers' locks, so a single event has no way to fail in the database on its own; a failure
there is a race (retried whole) or a bug (nothing stored, 500, the partner retries). A
savepoint per event would cost two round trips per event for no case that can happen.
"""

from __future__ import annotations

import logging
from collections import defaultdict, namedtuple
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import DBAPIError, IntegrityError

from portal.accounts.models import IdentityLink, User
from portal.db import Raw, transactional, utcnow
from portal.dossiers.models import FINAL_STATUSES, Dossier, DossierEvent, DossierPause
from portal.dossiers.statuses import aware
from portal.extensions import db
from portal.jobs import enqueue
from portal.payments import fees
from portal.sync import partners as partner_service
from portal.sync.clock import Clock, Pause, base_due, replay, step
from portal.sync.validation import Incoming, Invalid, dossier_block
from portal.workdays import WorkCalendar
from services_catalog.models import Agency, Procedure

log = logging.getLogger(__name__)

ATTEMPTS = 3
D = Dossier.__table__
E = DossierEvent.__table__
P = DossierPause.__table__


class _State:
    """A dossier of the batch: its row as read under lock, and its clock as it evolves."""

    def __init__(self, row) -> None:
        self.id = row.id
        self.code = row.code
        self.agency_code = row.agency_code
        self.received_at = aware(row.received_at)
        self.processing_days = row.processing_days
        self.tell = bool(row.applicant_email or row.user_id)
        self.clock = Clock(
            status=row.status,
            last_event_at=aware(row.last_event_at),
            due_at=aware(row.due_at),
            original_due_at=aware(row.original_due_at),
            finished_at=aware(row.finished_at),
        )
        self.rebuild = False
        self.dropped_pauses: list[int] = []
        self.stored: list[Incoming] = []
        self.before = self.columns()

    def columns(self) -> tuple:
        c = self.clock
        return (c.status, c.last_event_at, c.due_at, c.original_due_at, c.finished_at)


def ingest(partner_code: str, partner_source: str, items: list[Incoming]) -> list[dict]:
    """Apply a checked batch for a partner; one result per event, in order.

    :raises DBAPIError: a race that persisted over ATTEMPTS tries (never seen in practice).
    """
    checked = [item.error is not None for item in items]
    for attempt in range(1, ATTEMPTS + 1):
        for item, invalid in zip(items, checked, strict=True):
            if not invalid:
                item.result = item.error = None
        try:
            return _ingest_once(partner_code, partner_source, items)
        except DBAPIError as exc:
            if attempt == ATTEMPTS or not _worth_retrying(exc):
                raise
            log.info(
                "sync batch raced another; retrying", extra={"partner": partner_code, "attempt": attempt}
            )
    raise AssertionError("unreachable")


def _worth_retrying(exc: DBAPIError) -> bool:
    """A unique violation from a concurrent batch, or PostgreSQL breaking a deadlock or a
    serialization conflict: the batch run again sees the other's work."""
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")


@transactional
def _ingest_once(partner_code: str, source: str, items: list[Incoming]) -> list[dict]:
    now = utcnow()
    cal = WorkCalendar.from_config(current_app.config)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if not postgres:
        # SQLite: take the database's write lock first, so every read below is current.
        db.session.execute(
            sa.text("UPDATE partners SET active = active WHERE code = :c"), {"c": partner_code}
        )

    live = [i for i in items if i.error is None]
    # The same event id twice in one batch: the later copies repeat the first's answer.
    first_of: dict[str, Incoming] = {}
    repeats: list[tuple[Incoming, Incoming]] = []
    for item in live:
        if item.event_id in first_of:
            repeats.append((item, first_of[item.event_id]))
        else:
            first_of[item.event_id] = item
    live = list(first_of.values())

    codes = sorted({i.code for i in live})
    # Known dossiers first, then those created here, each phase in code order (module docstring).
    dossiers = _lock_dossiers(codes, postgres)
    created = _create_counter_dossiers(partner_code, [i for i in live if i.code not in dossiers], now, cal)
    if created:
        dossiers.update(_lock_dossiers(created, postgres))

    if postgres and len(first_of) == 1:
        sent_before = {row[0] for row in _SENT_ONE.rows({"source": source, "id": next(iter(first_of))})}
    else:
        # An IN list of the batch's ids (not an array parameter: a plan prepared for ANY($1)
        # read, on statistics lagging a partner's growth, every event the partner ever sent).
        sent_before = set(
            db.session.scalars(
                sa.select(E.c.external_id).where(E.c.source == source, E.c.external_id.in_(list(first_of)))
            )
        )

    by_dossier: dict[str, list[Incoming]] = defaultdict(list)
    for item in live:
        if item.result is not None:
            continue
        if item.event_id in sent_before:
            item.result = "duplicate"
            continue
        state = dossiers.get(item.code)
        if state is None:
            item.reject("UnknownDossier", "the portal does not know this dossier; send its dossier object")
        elif not partner_service.in_jurisdiction(partner_code, state.agency_code):
            item.reject("OutsideJurisdiction", "this dossier's agency is outside the partner's jurisdiction")
        else:
            by_dossier[item.code].append(item)

    for code, events in by_dossier.items():
        state = dossiers[code]
        for item in sorted(events, key=lambda i: (i.occurred, i.index)):
            last = state.clock.last_event_at
            if last is not None and item.occurred < last:
                item.result = "stale"
                state.rebuild = True
            elif state.clock.status in FINAL_STATUSES and item.status != state.clock.status:
                item.reject("InvalidTransition", "the dossier is closed: its status can no longer change")
                continue
            else:
                item.result = "applied"
                step(state.clock, cal, item.status, item.occurred, item.due)
            state.stored.append(item)

    touched = [dossiers[c] for c in by_dossier if dossiers[c].stored]
    _replay_stale(touched, source, cal)
    notify = _write(touched, source, now)
    if notify:
        enqueue("sync.notify_events", source, notify)

    for item, first in repeats:
        if first.result in ("applied", "stale", "duplicate"):
            item.result = "duplicate"
        else:
            item.result, item.error = first.result, first.error
    return [item.answer() for item in items]


_CODES = sa.bindparam("codes", expanding=True)
_OPEN_PAUSE = sa.and_(P.c.dossier_id == D.c.id, P.c.ended_at.is_(None))
_DOSSIERS = (
    sa.select(
        D.c.id,
        D.c.code,
        D.c.status,
        D.c.agency_code,
        D.c.last_event_at,
        D.c.due_at,
        D.c.original_due_at,
        D.c.finished_at,
        D.c.received_at,
        D.c.processing_days,
        D.c.applicant_email,
        D.c.user_id,
        P.c.id.label("pause_id"),
        P.c.status.label("pause_status"),
        P.c.started_at.label("pause_started_at"),
    )
    .select_from(D.outerjoin(P, _OPEN_PAUSE))
    .where(D.c.code.in_(_CODES), D.c.state == "filed")
    .order_by(D.c.code, P.c.started_at, P.c.id)
)


_COLUMNS = (
    "id code status agency_code last_event_at due_at original_due_at finished_at received_at "
    "processing_days applicant_email user_id pause_id pause_status pause_started_at"
)
_Row = namedtuple("_Row", _COLUMNS)
# The same read of one dossier on PostgreSQL (a single-event request), on psycopg. An
# equality: a plan prepared for ``code = ANY($1)`` while the table was small kept scanning
# it as it grew (batches fell from 2,900 to 2,000 events/s over a run).
_DOSSIER_LOCKED = Raw(
    "SELECT d.id, d.code, d.status, d.agency_code, d.last_event_at, d.due_at, d.original_due_at, "
    "d.finished_at, d.received_at, d.processing_days, d.applicant_email, d.user_id, "
    "p.id, p.status, p.started_at FROM dossiers d "
    "LEFT OUTER JOIN dossier_pauses p ON p.dossier_id = d.id AND p.ended_at IS NULL "
    "WHERE d.code = :code AND d.state = 'filed' ORDER BY p.started_at, p.id FOR UPDATE OF d"
)
# One event (the usual single-event request): an equality on both columns of the unique index,
# which PostgreSQL always serves from it. With ANY it may, on statistics that lag a partner's
# growth, read the index on ``source`` alone and filter every event that partner ever sent.
_SENT_ONE = Raw("SELECT external_id FROM dossier_events WHERE source = :source AND external_id = :id")


def _lock_dossiers(codes: list[str], postgres: bool) -> dict[str, _State]:
    """The filed dossiers with these codes, with their open pause, locked (PostgreSQL) in code
    order for the rest of the transaction."""
    if not codes:
        return {}
    if postgres and len(codes) == 1:
        rows = [_Row(*row) for row in _DOSSIER_LOCKED.rows({"code": codes[0]})]
    else:
        query = _DOSSIERS.with_for_update(of=D) if postgres else _DOSSIERS
        rows = db.session.execute(query, {"codes": codes}).all()
    found: dict[str, _State] = {}
    for row in rows:
        state = found.get(row.code)
        if state is None:
            state = found[row.code] = _State(row)
        if row.pause_id is not None:
            state.clock.pauses.append(
                Pause(status=row.pause_status, started_at=aware(row.pause_started_at), id=row.pause_id)
            )
    return found


# --------------------------------------------------------------------- counter dossiers


def _create_counter_dossiers(partner_code: str, unknown: list[Incoming], now: datetime, cal) -> list[str]:
    """Create the dossiers filed at a counter, from the earliest event of each that carries a
    valid ``dossier`` object inside the partner's jurisdiction."""
    blocks = {}
    for item in sorted(unknown, key=lambda i: (i.occurred, i.index)):
        if item.code in blocks or item.raw_dossier is None:
            continue
        try:
            block = dossier_block(item.raw_dossier, now=now)
        except Invalid as exc:
            item.reject("ValidationError", str(exc))
            continue
        if not partner_service.in_jurisdiction(partner_code, block.agency_code):
            item.reject("OutsideJurisdiction", "this dossier's agency is outside the partner's jurisdiction")
            continue
        blocks[item.code] = (block, item.occurred)
    if not blocks:
        return []
    procedures = {
        row.code: row
        for row in db.session.execute(
            sa.select(Procedure.id, Procedure.code, Procedure.processing_days).where(
                Procedure.code.in_({b.procedure_code for b, _ in blocks.values()})
            )
        )
    }
    agency_codes = {b.agency_code for b, _ in blocks.values()}
    agencies = {}
    for row in db.session.execute(
        sa.select(Agency.id, Agency.code, Agency.portal_code).where(
            sa.or_(Agency.code.in_(agency_codes), Agency.portal_code.in_(agency_codes))
        )
    ):
        agencies[row.code or row.portal_code] = row.id
        if row.portal_code:
            agencies.setdefault(row.portal_code, row.id)
    owners = _verified_owners({b.applicant_id_number for b, _ in blocks.values() if b.applicant_id_number})
    rows = []
    for code in sorted(blocks):
        block, first_at = blocks[code]
        procedure = procedures.get(block.procedure_code)
        days = procedure.processing_days if procedure else None
        received = block.received_at or first_at
        due = base_due(cal, received, days)
        rows.append(
            {
                "code": code,
                "state": "filed",
                "status": None,
                "channel": block.channel,
                "user_id": owners.get(block.applicant_id_number),
                "procedure_id": procedure.id if procedure else None,
                "procedure_code": block.procedure_code,
                "agency_id": agencies.get(block.agency_code),
                "agency_code": block.agency_code,
                "summary": block.summary,
                "form_data": {},
                "applicant_name": block.applicant_name,
                "applicant_id_number": block.applicant_id_number,
                "applicant_phone": block.applicant_phone,
                "applicant_email": block.applicant_email,
                "received_at": received,
                "due_at": due,
                "original_due_at": due,
                "processing_days": days,
                "created_at": now,
                "updated_at": now,
            }
        )
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(D).on_conflict_do_nothing(index_elements=["code"]), rows)
    return sorted(blocks)


def _verified_owners(id_numbers: set[str]) -> dict[str, int]:
    """Accounts whose ID number the national identity provider vouched for (see
    portal.dossiers.queries.verified_id_number), by that number."""
    if not id_numbers:
        return {}
    rows = db.session.execute(
        sa.select(User.id, User.id_number)
        .where(User.id_number.in_(id_numbers), User.is_active.is_(True))
        .where(sa.exists().where(IdentityLink.user_id == User.id))
    )
    return {row.id_number: row.id for row in rows}


# ------------------------------------------------------------------------------- clocks


def _replay_stale(states: list[_State], source: str, cal) -> None:
    """Recompute the clock (pauses, due dates, finished_at) of dossiers that got a stale event
    from their whole history, new events included. Their stored pauses are loaded so that
    only the differences are written."""
    rebuild = {s.id: s for s in states if s.rebuild}
    if not rebuild:
        return
    ids = list(rebuild)
    history: dict[int, list] = defaultdict(list)
    for row in db.session.execute(
        sa.select(E.c.dossier_id, E.c.occurred_at, E.c.status, E.c.due_at, E.c.id).where(
            E.c.dossier_id.in_(ids)
        )
    ).all():
        history[row.dossier_id].append((aware(row.occurred_at), 0, row.id, row.status, aware(row.due_at)))
    stored: dict[int, list[Pause]] = defaultdict(list)
    for row in db.session.execute(
        sa.select(P.c.id, P.c.dossier_id, P.c.status, P.c.started_at, P.c.ended_at).where(
            P.c.dossier_id.in_(ids)
        )
    ).all():
        stored[row.dossier_id].append(
            Pause(
                status=row.status, started_at=aware(row.started_at), ended_at=aware(row.ended_at), id=row.id
            )
        )
    for state in rebuild.values():
        events = history[state.id] + [(i.occurred, 1, i.index, i.status, i.due) for i in state.stored]
        events.sort(key=lambda e: e[:3])
        replayed = replay(
            cal, base_due(cal, state.received_at, state.processing_days), [(e[0], e[3], e[4]) for e in events]
        )
        current = state.clock
        current.due_at, current.original_due_at = replayed.due_at, replayed.original_due_at
        current.finished_at = replayed.finished_at
        # Keep the stored pauses that the replay also has (same status and start), marking
        # those whose end changed; the others are deleted, the replay's new ones inserted.
        by_key = {(p.status, p.started_at): p for p in stored[state.id]}
        pauses = []
        for pause in replayed.pauses:
            old = by_key.pop((pause.status, pause.started_at), None)
            if old is None:
                pauses.append(
                    Pause(status=pause.status, started_at=pause.started_at, ended_at=pause.ended_at)
                )
            else:
                old.changed = old.ended_at != pause.ended_at
                old.ended_at = pause.ended_at
                pauses.append(old)
        state.dropped_pauses = [p.id for p in by_key.values()]
        current.pauses = pauses


# ------------------------------------------------------------------------------- writes


def _write(states: list[_State], source: str, now: datetime) -> list[str]:
    """Store the batch's events, the amounts they ask for, the dossiers' new state and their
    pauses; return the event ids of applied events whose applicant can be told."""
    if not states:
        return []
    event_rows, notify, amounts = [], [], []
    for state in states:
        for item in state.stored:
            if item.amount is not None:
                amounts.append((state.id, item.amount, item.event_id))
            event_rows.append(
                {
                    "dossier_id": state.id,
                    "status": item.status,
                    "occurred_at": item.occurred,
                    "recorded_at": now,
                    "source": source,
                    "external_id": item.event_id,
                    "result": item.result,
                    "note": item.note,
                    "handler_name": item.handler_name,
                    "handler_unit": item.handler_unit,
                    "due_at": item.due,
                    "notified_at": None,
                }
            )
            if state.tell and item.result == "applied":
                notify.append(item.event_id)
    _INSERT_EVENT.many(event_rows)
    if amounts:
        fees.record_amounts_due(source, amounts, now=now)
    changed = [
        {
            "b_id": state.id,
            "b_status": state.clock.status,
            "b_last": state.clock.last_event_at,
            "b_due": state.clock.due_at,
            "b_original": state.clock.original_due_at,
            "b_finished": state.clock.finished_at,
            "b_now": now,
        }
        for state in states
        if state.columns() != state.before  # a stale event often changes nothing
    ]
    if changed:
        _UPDATE_DOSSIER.many(changed)
    dropped = [pause_id for state in states for pause_id in state.dropped_pauses]
    if dropped:
        db.session.execute(sa.delete(P).where(P.c.id.in_(dropped)))
    new_pauses, ended = [], []
    for state in states:
        for pause in state.clock.pauses:
            if pause.id is None:
                new_pauses.append(
                    {
                        "dossier_id": state.id,
                        "status": pause.status,
                        "started_at": pause.started_at,
                        "ended_at": pause.ended_at,
                    }
                )
            elif pause.changed:
                ended.append({"b_id": pause.id, "b_ended": pause.ended_at})
    if ended:
        _END_PAUSE.many(ended)
    if new_pauses:
        _INSERT_PAUSE.many(new_pauses)
    return notify


# Built once: plain statements run once per row (psycopg pipelines them), no RETURNING.
_AT = sa.DateTime(timezone=True)
_INSERT_EVENT = Raw(
    "INSERT INTO dossier_events (dossier_id, status, occurred_at, recorded_at, source, external_id, result, "
    "note, handler_name, handler_unit, due_at, notified_at) VALUES (:dossier_id, :status, :occurred_at, "
    ":recorded_at, :source, :external_id, :result, :note, :handler_name, :handler_unit, :due_at, :notified_at)",
    occurred_at=_AT,
    recorded_at=_AT,
    due_at=_AT,
    notified_at=_AT,
)
_INSERT_PAUSE = Raw(
    "INSERT INTO dossier_pauses (dossier_id, status, started_at, ended_at) "
    "VALUES (:dossier_id, :status, :started_at, :ended_at)",
    started_at=_AT,
    ended_at=_AT,
)
_END_PAUSE = Raw("UPDATE dossier_pauses SET ended_at = :b_ended WHERE id = :b_id", b_ended=_AT)
_UPDATE_DOSSIER = Raw(
    "UPDATE dossiers SET status = :b_status, last_event_at = :b_last, due_at = :b_due, "
    "original_due_at = :b_original, finished_at = :b_finished, updated_at = :b_now WHERE id = :b_id",
    b_last=_AT,
    b_due=_AT,
    b_original=_AT,
    b_finished=_AT,
    b_now=_AT,
)
