"""A national-size dossier table for the lookup benchmark, written straight into the database.

``seed()`` adds N filed dossiers over the last two years to a migrated database with the
bundled catalog: each is filed for a real online service (so its procedure, agency and
processing time agree), has a code ``<agency code>-YYMMDD-NNNN`` numbered per agency and
Vietnamese day as ``mint_code`` numbers them, a national status 1-10 that fits its age, an
applicant with a phone and an ID number, received/due/finished times, its one status
event, an open pause when its status is 5, 6 or 8, and the counters ``mint_code`` would
have left. PostgreSQL gets COPY; SQLite gets large ``executemany`` batches.

``sample_lookups()`` then reads back a seeded sample of codes with their applicants' phone
and ID numbers, and turns them into what citizens type: mostly the right pair, sometimes a
wrong number or a code that does not exist.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa

DAYS = 730  # dossiers are spread over the two years before yesterday
_WEEKEND_WEIGHT = 0.15  # a few one-stop counters open on Saturdays
_FINAL = (3, 7, 10)
_PAUSED = (5, 6, 8)
_BATCH = 20_000

DOSSIER_COLUMNS = (
    "code",
    "state",
    "status",
    "channel",
    "online_service_id",
    "procedure_id",
    "procedure_code",
    "agency_id",
    "agency_code",
    "summary",
    "form_data",
    "applicant_name",
    "applicant_id_number",
    "applicant_phone",
    "applicant_email",
    "received_at",
    "due_at",
    "original_due_at",
    "processing_days",
    "finished_at",
    "last_event_at",
    "created_at",
    "updated_at",
)
COUNTER_COLUMNS = ("agency_code", "day", "last_value")

_FAMILY = (
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
)
_MIDDLE = ("Văn", "Thị", "Hữu", "Minh", "Thu", "Ngọc", "Đức", "Thanh", "Quốc", "Bảo")
_GIVEN = (
    "An",
    "Bình",
    "Chi",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hoa",
    "Hùng",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Phúc",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Tuấn",
    "Việt",
    "Yến",
)
_PHONE_PREFIXES = (
    "090",
    "091",
    "093",
    "094",
    "096",
    "097",
    "098",
    "086",
    "088",
    "032",
    "033",
    "035",
    "038",
    "070",
    "076",
    "077",
    "079",
    "081",
    "083",
    "084",
    "085",
    "056",
    "058",
    "059",
)


@dataclass(frozen=True)
class Lookup:
    """One thing a citizen types into the lookup form, and what the portal must answer."""

    code: str
    secret: str
    found: bool  # True: the result page (200); False: "no dossier matches" (404)


def seed(database_url: str, count: int, *, seed_value: int = 5) -> dict:
    """Add ``count`` filed dossiers with their events; return what was written and the time taken.

    :raises RuntimeError: the catalog has no active online service to file dossiers for.
    """
    started = time.perf_counter()
    engine = sa.create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as conn:
            services = _services(conn)
            first_id = conn.execute(sa.text("SELECT coalesce(max(id), 0) + 1 FROM dossiers")).scalar_one()
            counters = {
                (row.agency_code, str(row.day)[:10]): row.last_value
                for row in conn.execute(sa.text("SELECT agency_code, day, last_value FROM dossier_counters"))
            }
    finally:
        engine.dispose()
    if not services:
        raise RuntimeError("no active online service to file dossiers for: import the catalog first")
    postgres = database_url.startswith(("postgresql", "postgres:"))
    rows = _Rows(services, count, counters, random.Random(seed_value), postgres=postgres)
    write = _write_postgres if postgres else _write_sqlite
    timings = write(database_url, rows, first_id)
    return {
        "dossiers": count,
        "agencies": len({s[4] for s in services}),
        "online_services": len(services),
        "days": DAYS,
        "largest_daily_sequence": max(rows.counters.values(), default=0),
        "seconds": round(time.perf_counter() - started, 1),
        "steps": timings,
    }


def _services(conn) -> list[tuple]:
    """(service id, procedure id, procedure code, agency id, agency key, summary, days) of each
    active online service."""
    rows = conn.execute(
        sa.text(
            "SELECT s.id, p.id, p.code, a.id, coalesce(a.code, a.portal_code), p.name, p.processing_days "
            "FROM online_services s JOIN procedures p ON p.id = s.procedure_id "
            "JOIN agencies a ON a.id = s.agency_id WHERE s.active ORDER BY s.id"
        )
    ).all()
    return [
        (
            sid,
            pid,
            pcode,
            aid,
            akey,
            " ".join((name or "").split())[:500] or None,
            days if days is not None and 0 <= days <= 3660 else None,
        )
        for sid, pid, pcode, aid, akey, name, days in rows
    ]


class _Rows:
    """Generates the dossier rows day by day, so ids grow with filing time as they would."""

    def __init__(self, services, count, counters, rng, *, postgres: bool) -> None:
        self.services = services
        self.count = count
        self.counters = dict(counters)
        self.rng = rng
        # Timestamps as text: PostgreSQL reads the zone; SQLAlchemy stores SQLite times naive, UTC.
        self.zone = "+00" if postgres else ".000000"
        self.today = datetime.now(UTC).date()
        self._day_text: dict[int, str] = {}

    def day_text(self, offset: int) -> str:
        """ISO date ``offset`` days after the first day (cached: a few thousand distinct days)."""
        text = self._day_text.get(offset)
        if text is None:
            text = self._day_text[offset] = (self.today - timedelta(days=DAYS - offset)).isoformat()
        return text

    def per_day(self) -> list[int]:
        start = self.today - timedelta(days=DAYS)
        weights = [
            _WEEKEND_WEIGHT if (start + timedelta(days=d)).weekday() >= 5 else 1.0 for d in range(DAYS)
        ]
        total = sum(weights)
        counts, acc, done = [], 0.0, 0
        for w in weights:
            acc += w * self.count / total
            counts.append(round(acc) - done)
            done += counts[-1]
        counts[-1] += self.count - done
        return counts

    def __iter__(self) -> Iterator[tuple]:
        """One tuple per dossier, in DOSSIER_COLUMNS order."""
        rand = self.rng.random
        services, n_services = self.services, len(self.services)
        zone, counters, day_text_of = self.zone, self.counters, self.day_text
        n_phones, n_family, n_middle, n_given = len(_PHONE_PREFIXES), len(_FAMILY), len(_MIDDLE), len(_GIVEN)
        number = 0
        for day, n in enumerate(self.per_day()):
            age = DAYS - day  # 1 = yesterday
            day_text = day_text_of(day)
            yymmdd = day_text[2:4] + day_text[5:7] + day_text[8:10]
            # Received during office hours, Vietnam time (UTC+7): 07:30-17:00 = 00:30-10:00 UTC.
            for second in sorted(1800 + int(rand() * 34200) for _ in range(n)):
                number += 1
                sid, pid, pcode, aid, akey, summary, pdays = services[int(rand() * n_services)]
                key = (akey, day_text)
                seq = counters[key] = counters.get(key, 0) + 1
                received = f"{day_text} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}{zone}"
                span = -(-(pdays if pdays is not None else 10) * 7 // 5)  # working days, roughly
                due = f"{day_text_of(day + span)} 10:00:00{zone}" if pdays is not None else None
                status = _status(rand(), age, span)
                if status == 1:
                    last = received
                else:
                    reach = span + 8 if status in _FINAL else min(span, age)
                    event_day = min(DAYS - 1, day + int(rand() * reach))
                    at = (
                        max(second, 1800 + int(rand() * 34200))
                        if event_day == day
                        else 1800 + int(rand() * 34200)
                    )
                    last = (
                        f"{day_text_of(event_day)} {at // 3600:02d}:{at // 60 % 60:02d}:{at % 60:02d}{zone}"
                    )
                r = rand()
                channel = 2 if r < 0.7 else (1 if r < 0.95 else 3)
                yield (
                    f"{akey}-{yymmdd}-{seq:04d}",
                    "filed",
                    status,
                    channel,
                    sid if channel == 2 else None,
                    pid,
                    pcode,
                    aid,
                    akey,
                    summary,
                    "{}",
                    f"{_FAMILY[int(rand() * n_family)]} {_MIDDLE[int(rand() * n_middle)]} "
                    f"{_GIVEN[int(rand() * n_given)]}",
                    f"0{int(rand() * 96) + 1:02d}{int(rand() * 4)}{int(rand() * 100):02d}{int(rand() * 1_000_000):06d}",
                    f"{_PHONE_PREFIXES[int(rand() * n_phones)]}{int(rand() * 10_000_000):07d}",
                    f"cd{number}.{seq}@mail.example.vn" if r < 0.2 else None,
                    received,
                    due,
                    due,
                    pdays,
                    last if status in _FINAL else None,
                    last,
                    received,
                    last,
                )

    def counter_rows(self) -> list[tuple]:
        return [(agency, day, value) for (agency, day), value in self.counters.items()]


def _status(r: float, age: int, span: int) -> int:
    """A national status that fits a dossier received ``age`` days ago, due ``span`` days after."""
    if age > span + 20:  # long past its due date: almost all finished
        if r < 0.80:
            return 10
        if r < 0.87:
            return 3
        if r < 0.92:
            return 7
        if r < 0.96:
            return 9
        return (5, 6, 8, 4)[int((r - 0.96) * 100) % 4]
    if r < 0.15:
        return 1
    if r < 0.30:
        return 2
    if r < 0.60:
        return 4
    if r < 0.70:
        return 5
    if r < 0.75:
        return 6
    if r < 0.85:
        return 9
    if r < 0.95:
        return 10
    return (3, 7, 8)[int((r - 0.95) * 60) % 3]


# Each new dossier's one event (its current status; the portal's own for an online filing just
# made or withdrawn by the citizen, else the agency's one-stop system with its event id) and,
# while the clock is paused (5, 6, 8), its open pause. Plain SQL for both databases.
_EVENTS_SQL = (
    "INSERT INTO dossier_events (dossier_id, status, occurred_at, recorded_at, source, external_id, result) "
    "SELECT id, status, last_event_at, last_event_at, "
    "CASE WHEN channel = 2 AND status = 1 THEN 'portal' WHEN channel = 2 AND status = 7 THEN 'citizen' "
    "ELSE 'partner:' || agency_code END, "
    "CASE WHEN channel = 2 AND status IN (1, 7) THEN NULL ELSE code || '/' || status END, 'applied' "
    "FROM dossiers WHERE id >= {first} ORDER BY id"
)
_PAUSES_SQL = (
    "INSERT INTO dossier_pauses (dossier_id, status, started_at) "
    "SELECT id, status, last_event_at FROM dossiers WHERE id >= {first} AND status IN (5, 6, 8) ORDER BY id"
)
_TABLES = ("dossiers", "dossier_events", "dossier_pauses")


def _write_postgres(database_url: str, rows: _Rows, first_id: int) -> dict:
    import psycopg

    timings = {}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 1)
        clock = now

    with psycopg.connect(_libpq_url(database_url)) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        # The rows are consistent by construction (catalog ids read just before, events made
        # from their dossiers): skip the per-row foreign-key triggers, which would cost more
        # than the load itself. Needs a superuser, which the benchmark's PostgreSQL user is.
        conn.execute("SET session_replication_role = replica")
        # Plain indexes are built once at the end, from their own definitions (faster than
        # keeping them up to date row by row); constraint indexes (primary keys, unique
        # codes) stay and check every row.
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
            "AND i.tablename = ANY(%s) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            [list(_TABLES)],
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        with conn.cursor() as cur:
            with cur.copy(f"COPY dossiers ({', '.join(DOSSIER_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            step("copy dossiers")
            cur.execute(_EVENTS_SQL.format(first=int(first_id)))
            cur.execute(_PAUSES_SQL.format(first=int(first_id)))
            step("events and pauses")
            cur.execute("DELETE FROM dossier_counters")
            with cur.copy(f"COPY dossier_counters ({', '.join(COUNTER_COLUMNS)}) FROM STDIN") as copy:
                for row in rows.counter_rows():
                    copy.write_row(row)
            for _, definition in indexes:
                cur.execute(definition)
            step("indexes")
        conn.commit()
        conn.autocommit = True
        # Fresh statistics, as autovacuum would have after a load this size.
        conn.execute("VACUUM (ANALYZE) dossiers, dossier_events, dossier_pauses, dossier_counters")
        step("vacuum analyze")
    return timings


def _write_sqlite(database_url: str, rows: _Rows, first_id: int) -> dict:
    import sqlite3
    from itertools import islice

    started = time.perf_counter()
    path = database_url.split("///", 1)[1]
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        marks = ", ".join("?" * len(DOSSIER_COLUMNS))
        insert = f"INSERT INTO dossiers ({', '.join(DOSSIER_COLUMNS)}) VALUES ({marks})"
        iterator = iter(rows)
        while batch := list(islice(iterator, _BATCH)):
            conn.executemany(insert, batch)
        conn.execute(_EVENTS_SQL.format(first=int(first_id)))
        conn.execute(_PAUSES_SQL.format(first=int(first_id)))
        conn.execute("DELETE FROM dossier_counters")
        conn.executemany(
            f"INSERT INTO dossier_counters ({', '.join(COUNTER_COLUMNS)}) VALUES (?, ?, ?)",
            rows.counter_rows(),
        )
        conn.commit()
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return {"insert": round(time.perf_counter() - started, 1)}


def sample_lookups(database_url: str, count: int, *, seed_value: int = 13) -> list[Lookup]:
    """``count`` lookups over distinct dossiers, in a seeded order: 85 % the right code with the
    applicant's phone (as people write it: spaces, dots, +84) or ID number, 5 % the right code
    with a wrong phone number, 10 % a well-formed code that no dossier has."""
    rng = random.Random(seed_value)
    engine = sa.create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as conn:
            low, high = conn.execute(
                sa.text("SELECT min(id), max(id) FROM dossiers WHERE state = 'filed'")
            ).one()
            if low is None:
                return []
            ids = rng.sample(range(low, high + 1), min(count, high - low + 1))
            rows = []
            query = sa.text(
                "SELECT code, applicant_phone, applicant_id_number FROM dossiers "
                "WHERE id IN :ids AND state = 'filed' AND code IS NOT NULL"
            ).bindparams(sa.bindparam("ids", expanding=True))
            for start in range(0, len(ids), 5000):
                rows += conn.execute(query, {"ids": ids[start : start + 5000]}).all()
    finally:
        engine.dispose()
    rows.sort()
    rng.shuffle(rows)
    lookups = []
    for code, phone, id_number in rows:
        if not phone and not id_number:
            continue  # nothing to look it up with: nobody can find it by the lookup
        r = rng.random()
        if r < 0.85:
            if phone and (r < 0.45 or not id_number):
                lookups.append(Lookup(code, _as_typed(phone, rng), True))
            else:
                lookups.append(Lookup(code, id_number, True))
        elif r < 0.90:
            known = phone or "0912345678"
            wrong = known[:-3] + f"{(int(known[-3:]) + 1 + int(rng.random() * 998)) % 1000:03d}"
            lookups.append(Lookup(code, wrong, False))
        else:
            # The day's sequence stays far below 9000 (checked by the caller): no such dossier.
            agency, day, _ = code.rsplit("-", 2)
            lookups.append(
                Lookup(f"{agency}-{day}-{9000 + int(rng.random() * 999):04d}", phone or id_number, False)
            )
    return lookups


def _as_typed(phone: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.6:
        return phone
    if r < 0.8:
        return f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    if r < 0.9:
        return f"{phone[:4]}.{phone[4:7]}.{phone[7:]}"
    return "+84" + phone[1:]


def sqlalchemy_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _libpq_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    return "postgresql" + url[len(scheme) :] if scheme.startswith("postgres") else url
