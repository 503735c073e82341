"""National statuses in words, Vietnam time at the edges, and the dossier clock.

The clock: a dossier is due at the end of the working day N working days after it was
received (portal.workdays). Periods in a paused status (5, 6, 8) do not count: when a pause
ends, the due date moves by the working days it lasted; the first due date is kept.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app

from portal.dossiers.models import DELIVERED, PAUSED_STATUSES, READY, REFUSED, WITHDRAWN
from portal.workdays import END_OF_DAY, VN_TZ, WorkCalendar

STATUS_NAMES: dict[int, dict[str, str]] = {
    1: {"vi": "Mới đăng ký", "en": "Submitted, not yet checked"},
    2: {"vi": "Được tiếp nhận", "en": "Accepted"},
    3: {"vi": "Không được tiếp nhận", "en": "Refused"},
    4: {"vi": "Đang xử lý", "en": "Being processed"},
    5: {"vi": "Yêu cầu bổ sung giấy tờ", "en": "Supplement requested"},
    6: {"vi": "Yêu cầu thực hiện nghĩa vụ tài chính", "en": "Payment required"},
    7: {"vi": "Công dân yêu cầu rút hồ sơ", "en": "Withdrawn by the citizen"},
    8: {"vi": "Dừng xử lý", "en": "Processing stopped"},
    9: {"vi": "Đã xử lý xong", "en": "Result ready"},
    10: {"vi": "Đã trả kết quả", "en": "Result delivered"},
}


def status_name(status: int | None) -> dict[str, str] | None:
    return dict(STATUS_NAMES[status]) if status in STATUS_NAMES else None


def aware(value: datetime | None) -> datetime | None:
    """A database time as an aware UTC datetime (SQLite hands back naive ones)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def vn_iso(value: datetime | None) -> str | None:
    """ISO 8601 in Vietnam time (+07:00), for people and for the pages."""
    value = aware(value)
    return value.astimezone(VN_TZ).isoformat() if value else None


def vn_text(value: datetime | None) -> str:
    """``17:00 03/02/2025``: how a time is written in Vietnam, for e-mails."""
    value = aware(value)
    return value.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if value else "-"


def calendar() -> WorkCalendar:
    return WorkCalendar.from_config(current_app.config)


def paused_working_days(started_at: datetime, ended_at: datetime) -> int:
    """Working days a pause took from the clock: those in (start day, end day], Vietnam time."""
    start = aware(started_at).astimezone(VN_TZ).date()
    end = aware(ended_at).astimezone(VN_TZ).date()
    return calendar().working_days_between(start, end)


def extend_due(due_at: datetime, working_days: int) -> datetime:
    """``due_at`` moved by ``working_days`` working days, at the end of that day."""
    if working_days <= 0:
        return aware(due_at)
    due_day = aware(due_at).astimezone(VN_TZ).date()
    new_day = calendar().add_working_days(due_day, working_days)
    return datetime.combine(new_day, END_OF_DAY, tzinfo=VN_TZ).astimezone(UTC)


def timeliness(dossier, now: datetime) -> str | None:
    """``early``, ``on_time``, ``late``, ``paused`` or None (no due date, or nothing to judge).

    A dossier is judged when its result was ready (status 9 or 10) or it was refused; a
    withdrawn one is not judged. An open one is on time until its due date passes, and
    paused while a pause is open.
    """
    if dossier.due_at is None or dossier.status is None or dossier.status == WITHDRAWN:
        return None
    done = [
        aware(e.occurred_at)
        for e in dossier.events
        if e.result == "applied" and e.status in (READY, DELIVERED, REFUSED)
    ]
    paused = dossier.status in PAUSED_STATUSES and any(p.ended_at is None for p in dossier.pauses)
    return judge(dossier.status, dossier.due_at, min(done) if done else None, paused, now)


def judge(
    status: int | None, due_at: datetime | None, finished_at: datetime | None, paused: bool, now: datetime
) -> str | None:
    """:func:`timeliness` from the facts a query can fetch in one statement: the status, the
    due date, when the result was first ready or the dossier refused (its first applied
    event in 9, 10 or 3), and whether a pause is open."""
    due = aware(due_at)
    if due is None or status is None or status == WITHDRAWN:
        return None
    if finished_at is not None:
        finished = aware(finished_at)
        if finished.astimezone(VN_TZ).date() < due.astimezone(VN_TZ).date():
            return "early"
        return "on_time" if finished <= due else "late"
    if status in PAUSED_STATUSES and paused:
        return "paused"
    return "on_time" if aware(now) <= due else "late"
