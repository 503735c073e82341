"""Writing parsed procedures: new ones inserted in batches, changed ones updated, unchanged
ones left alone, their online services kept in step, and in a full import the procedures
missing from the file retired.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal.db import utcnow
from portal.extensions import db
from services_catalog.forms import form_schema_for
from services_catalog.models import (
    Agency,
    Field,
    OnlineService,
    Procedure,
    ProcedureLevel,
    procedure_fields,
)
from services_catalog.normalize import fold, slug
from services_catalog.parsing import ParsedProcedure
from services_catalog.report import ImportReport

# New procedures are flushed, and changed ones loaded, this many at a time.
BATCH_SIZE = 500

LEVEL1_PREFIX = "000.00.00."
PROVINCIAL_LEVELS = {"province", "district", "commune"}


def _online_level(channels: list[dict]) -> tuple[int, bool, bool] | None:
    """(level, full_online, pays_online) for a procedure with an online channel, else None.

    Level 4 / fully online when every fee of the online channel is a stated amount in đồng
    (so it can be paid online); level 3 / partly online when a fee is set elsewhere (by a
    provincial council, as a percentage, in a foreign currency).
    """
    online = [c for c in channels if c["channel"] == 2]
    if not online:
        return None
    fees = [fee for c in online for t in c["timings"] for fee in t["fees"]]
    payable = all(fee["amount"] is not None and fee["currency"] == "VND" for fee in fees)
    if not payable:
        return 3, False, False
    return 4, True, sum(fee["amount"] for fee in fees) > 0


def _service_agencies(levels: list[str], publisher: Agency | None, provinces: list[Agency]) -> list[Agency]:
    """Where a procedure is offered online: its ministry for central procedures, every
    province's people's committee for provincial and commune ones (communes file through
    their province's one-stop system)."""
    targets: list[Agency] = []
    if ("central" in levels or "other" in levels) and publisher is not None and publisher.is_active():
        targets.append(publisher)
    if PROVINCIAL_LEVELS & set(levels):
        targets.extend(provinces)
    return targets


@dataclass
class _Known:
    id: int
    source_hash: str
    active: bool


class ProcedureWriter:
    """Writes parsed procedures, keeping lookups in memory for the length of one import.

    Only codes and fingerprints of the catalog are read up front; unchanged procedures are
    never loaded, new ones are flushed and changed ones loaded :data:`BATCH_SIZE` at a time,
    so an import costs a handful of queries per batch rather than per record.
    Call :meth:`finish` after the last :meth:`write`.
    """

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self.fields = {f.code: f for f in db.session.scalars(sa.select(Field))}
        agencies = list(db.session.scalars(sa.select(Agency)))
        self.agencies_known = bool(agencies)
        self.level1: dict[str, Agency] = {}
        for agency in agencies:
            if agency.code and agency.code.startswith(LEVEL1_PREFIX) and agency.level1_code:
                current = self.level1.get(agency.level1_code)
                if current is None or (agency.is_active() and not current.is_active()):
                    self.level1[agency.level1_code] = agency
        self.provinces = sorted(
            (a for a in agencies if a.code and a.code.startswith(LEVEL1_PREFIX + "H") and a.is_active()),
            key=lambda a: a.code,
        )
        self.known = {
            row.code: _Known(row.id, row.source_hash, row.active)
            for row in db.session.execute(
                sa.select(Procedure.id, Procedure.code, Procedure.source_hash, Procedure.active)
            )
        }
        self._new: list[tuple[ParsedProcedure, Agency | None, str]] = []
        self._changed: dict[str, tuple[ParsedProcedure, Agency | None, str]] = {}

    def write(self, parsed: ParsedProcedure) -> None:
        publisher = self.level1.get(parsed.publisher_level1) if parsed.publisher_level1 else None
        for message in parsed.warnings:
            self.report.warn(parsed.code, message)
        if parsed.publisher_level1 and publisher is None and self.agencies_known:
            self.report.warn(
                parsed.code, f"publishing agency {parsed.publisher_level1} is not among the known agencies"
            )
        offer = _online_level(parsed.values["channels"])
        wanted = _service_agencies(parsed.levels, publisher, self.provinces) if offer else []
        if offer and not wanted and self.agencies_known:
            reason = (
                f"its publishing agency {publisher.key} is closed"
                if publisher and not publisher.is_active()
                else "no known agency offers it"
            )
            self.report.warn(parsed.code, f"has an online channel but {reason}: no online service")
        fingerprint = self._fingerprint(parsed, publisher)
        known = self.known.get(parsed.code)
        if known is not None and known.active and known.source_hash == fingerprint:
            self.report.unchanged += 1
        elif known is None:
            self._new.append((parsed, publisher, fingerprint))
            self.report.created += 1
            if len(self._new) >= BATCH_SIZE:
                self._insert_new()
        else:
            self._changed[parsed.code] = (parsed, publisher, fingerprint)
            self.report.updated += 1
            if len(self._changed) >= BATCH_SIZE:
                self._apply_changes()

    def _fingerprint(self, parsed: ParsedProcedure, publisher: Agency | None) -> str:
        """The record's hash and what else decides the procedure's rows (its publisher and
        the provinces offering it): new agencies rewrite the procedures they concern."""
        context = [publisher.key if publisher else "", str(publisher.is_active()) if publisher else ""]
        if PROVINCIAL_LEVELS & set(parsed.levels):
            context += [a.key for a in self.provinces]
        return hashlib.sha256("\x1f".join([parsed.source_hash, *context]).encode()).hexdigest()

    def _insert_new(self) -> None:
        """Insert the queued new procedures with their levels, fields and online services:
        one executemany per table for the batch rather than the ORM's unit of work, which
        spends several times longer on a national catalog's tens of thousands of rows."""
        if not self._new:
            return
        now = utcnow()
        batch = []
        for parsed, publisher, fingerprint in self._new:
            fields = list(dict.fromkeys(self.field_for(c, n) for c, n in parsed.field_names))
            batch.append((parsed, publisher, fingerprint, fields))
        db.session.flush()  # new fields get their ids
        rows = [
            {
                **parsed.values,
                **self._norms(parsed, fields),
                "code": parsed.code,
                "publisher_id": publisher.id if publisher else None,
                "active": True,
                "retired_at": None,
                "source_hash": fingerprint,
                "created_at": now,
                "updated_at": now,
            }
            for parsed, publisher, fingerprint, fields in batch
        ]
        # A plain executemany, then the ids by code: with RETURNING, SQLAlchemy would build
        # multi-row statements that psycopg spends longer parsing than PostgreSQL executing.
        db.session.execute(Procedure.__table__.insert(), rows)
        ids = dict(
            db.session.execute(
                sa.select(Procedure.code, Procedure.id).where(Procedure.code.in_([r["code"] for r in rows]))
            ).all()
        )
        levels, links, services = [], [], []
        for parsed, publisher, _, fields in batch:
            procedure_id = ids[parsed.code]
            levels += [{"procedure_id": procedure_id, "level": level} for level in parsed.levels]
            links += [{"procedure_id": procedure_id, "field_id": f.id} for f in fields]
            offer = _online_level(parsed.values["channels"])
            if not offer:
                continue
            level, full_online, pays_online = offer
            schema = None
            for agency in dict.fromkeys(_service_agencies(parsed.levels, publisher, self.provinces)):
                schema = schema or form_schema_for(parsed.name, [f.name for f in fields], level)
                services.append(
                    {
                        "procedure_id": procedure_id,
                        "agency_id": agency.id,
                        "level": level,
                        "full_online": full_online,
                        "pays_online": pays_online,
                        "form_schema": schema,
                        "active": True,
                        "updated_at": now,
                    }
                )
        for target, values in (
            (ProcedureLevel.__table__, levels),
            (procedure_fields, links),
            (OnlineService.__table__, services),
        ):
            if values:
                db.session.execute(target.insert(), values)
        self.report.online_services += len(services)
        self._new.clear()

    @staticmethod
    def _norms(parsed: ParsedProcedure, fields: list[Field]) -> dict[str, str]:
        values = parsed.values
        return {
            "name_norm": fold(parsed.name),
            "search_norm": fold(
                " ".join(
                    [parsed.code, values["publisher_name"] or ""]
                    + [f.name for f in fields]
                    + values["subjects"]
                    + [r["name"] for r in values["results"]]
                    + values["implementing_bodies"]
                    + values["competent_bodies"]
                    + values["coordinating_bodies"]
                )
            ),
        }

    def _apply_changes(self) -> None:
        if not self._changed:
            return
        procedures = db.session.scalars(
            sa.select(Procedure)
            .where(Procedure.code.in_(list(self._changed)))
            .options(
                selectinload(Procedure.levels),
                selectinload(Procedure.fields),
                selectinload(Procedure.online_services),
            )
        )
        for procedure in procedures:
            self._fill(procedure, *self._changed[procedure.code])
        self._changed.clear()
        db.session.flush()

    def field_for(self, national_code: str | None, name: str) -> Field:
        code = national_code or slug(name)
        found = self.fields.get(code)
        if found is None:
            found = Field(code=code, name=name, name_norm=fold(name)[:300])
            db.session.add(found)
            self.fields[code] = found
        return found

    def _fill(
        self, procedure: Procedure, parsed: ParsedProcedure, publisher: Agency | None, fingerprint: str
    ) -> None:
        fields = list(dict.fromkeys(self.field_for(c, n) for c, n in parsed.field_names))
        for key, value in parsed.values.items():
            if getattr(procedure, key) != value:
                setattr(procedure, key, value)
        for key, value in self._norms(parsed, fields).items():
            if getattr(procedure, key) != value:
                setattr(procedure, key, value)
        procedure.publisher = publisher
        if procedure.fields != fields:
            procedure.fields = fields
        current_levels = {lv.level: lv for lv in procedure.levels}
        levels = [current_levels.get(level) or ProcedureLevel(level=level) for level in parsed.levels]
        if procedure.levels != levels:
            procedure.levels = levels
        procedure.active = True
        procedure.retired_at = None
        procedure.source_hash = fingerprint
        procedure.updated_at = utcnow()
        self._sync_online_services(procedure, parsed, publisher, fields)

    def _sync_online_services(
        self, procedure: Procedure, parsed: ParsedProcedure, publisher: Agency | None, fields: list[Field]
    ) -> None:
        offer = _online_level(procedure.channels)
        current = {s.agency_id: s for s in procedure.online_services}
        wanted = _service_agencies(parsed.levels, publisher, self.provinces) if offer else []
        wanted_ids = set()
        schema = None
        for agency in wanted:
            if agency.id in wanted_ids:
                continue
            wanted_ids.add(agency.id)
            level, full_online, pays_online = offer  # type: ignore[misc]
            # One schema per procedure, shared by its services' rows (JSON columns are
            # written whole and never changed in place).
            schema = schema or form_schema_for(procedure.name, [f.name for f in fields], level)
            service = current.get(agency.id)
            if service is None:
                service = OnlineService(agency_id=agency.id)
                procedure.online_services.append(service)
            values = {
                "level": level,
                "full_online": full_online,
                "pays_online": pays_online,
                "form_schema": schema,
                "active": True,
            }
            for key, value in values.items():
                if getattr(service, key) != value:
                    setattr(service, key, value)
            self.report.online_services += 1
        for agency_id, service in current.items():
            if agency_id not in wanted_ids and service.active:
                service.active = False

    def finish(self, seen: set[str] | None) -> None:
        """Write what is pending; with ``seen`` (a full import), retire the procedures whose
        codes it lacks: inactive with their online services, never deleted."""
        self._insert_new()
        self._apply_changes()
        if seen is not None:
            self.retire_missing(seen)

    def retire_missing(self, seen: set[str]) -> None:
        now = utcnow()
        missing = [known.id for code, known in self.known.items() if code not in seen and known.active]
        for start in range(0, len(missing), BATCH_SIZE):
            ids = missing[start : start + BATCH_SIZE]
            db.session.execute(
                sa.update(Procedure)
                .where(Procedure.id.in_(ids))
                .values(active=False, retired_at=now, updated_at=now)
            )
            db.session.execute(
                sa.update(OnlineService)
                .where(OnlineService.procedure_id.in_(ids), OnlineService.active.is_(True))
                .values(active=False, updated_at=now)
            )
        self.report.retired += len(missing)
