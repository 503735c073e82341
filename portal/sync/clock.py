"""A dossier's clock, computed in memory for a batch of events.

The same rules as :func:`portal.dossiers.events.apply_status` (which the citizen's actions
use): pauses open on 5, 6 and 8 and close on any other status, moving the due date by the
working days paused unless the closing event brings its own due date; a final status sets
``finished_at``. :func:`replay` runs them over a whole history in time order, which is how an
event that arrives late (stale) still counts for pauses and due dates: the dossier ends as
if its events had arrived in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from portal.dossiers.models import FINAL_STATUSES, PAUSED_STATUSES
from portal.dossiers.statuses import aware
from portal.workdays import END_OF_DAY, MAX_WORKING_DAYS, VN_TZ, WorkCalendar


@dataclass
class Pause:
    status: int
    started_at: datetime
    ended_at: datetime | None = None
    id: int | None = None
    changed: bool = False


@dataclass
class Clock:
    status: int | None
    last_event_at: datetime | None
    due_at: datetime | None
    original_due_at: datetime | None
    finished_at: datetime | None
    pauses: list[Pause] = field(default_factory=list)

    def open_pause(self) -> Pause | None:
        for pause in reversed(self.pauses):
            if pause.ended_at is None:
                return pause
        return None


def base_due(cal: WorkCalendar, received_at: datetime | None, days: int | None) -> datetime | None:
    """The due date set when a dossier is received: N working days, end of that day."""
    if received_at is None or days is None or not 0 <= days <= MAX_WORKING_DAYS:
        return None
    # It depends on the day of receipt only: remembered per calendar for the batch.
    memo = cal.__dict__.setdefault("_sync_due_memo", {})
    key = (aware(received_at).astimezone(VN_TZ).date(), days)
    if key not in memo:
        memo[key] = cal.due_at(aware(received_at), days)
    return memo[key]


def _extend(cal: WorkCalendar, due: datetime, started: datetime, ended: datetime) -> datetime:
    start = aware(started).astimezone(VN_TZ).date()
    end = aware(ended).astimezone(VN_TZ).date()
    days = cal.working_days_between(start, end)
    if days <= 0:
        return aware(due)
    new_day = cal.add_working_days(aware(due).astimezone(VN_TZ).date(), days)
    return datetime.combine(new_day, END_OF_DAY, tzinfo=VN_TZ).astimezone(aware(due).tzinfo)


def step(clock: Clock, cal: WorkCalendar, status: int, at: datetime, due: datetime | None) -> None:
    """Apply one (not stale, allowed) event to the clock."""
    pause = clock.open_pause()
    if pause is not None and status != pause.status:
        pause.ended_at, pause.changed = at, True
        if due is None and clock.due_at is not None and status not in FINAL_STATUSES:
            clock.due_at = _extend(cal, clock.due_at, pause.started_at, at)
        pause = None
    if status in PAUSED_STATUSES and pause is None:
        clock.pauses.append(Pause(status=status, started_at=at, changed=True))
    if due is not None:
        clock.due_at = due
        if clock.original_due_at is None:
            clock.original_due_at = due
    clock.status = status
    clock.last_event_at = at
    if status in FINAL_STATUSES and clock.finished_at is None:
        clock.finished_at = at


def replay(
    cal: WorkCalendar, base: datetime | None, events: list[tuple[datetime, int, datetime | None]]
) -> Clock:
    """The clock after a whole history of (occurred_at, status, due_at), in time order."""
    clock = Clock(status=None, last_event_at=None, due_at=base, original_due_at=base, finished_at=None)
    for at, status, due in events:
        step(clock, cal, status, at, due)
    return clock
