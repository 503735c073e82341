"""The catalog: agencies, provinces, fields, procedures and the online services on them.

Structured parts of a procedure that are read whole and never queried by their insides
(channels with processing times and fees, documents, steps, legal basis, results, target
subjects) are JSON columns in a documented shape; what the portal filters or joins on
(fields, levels of government, agencies, online services) is relational.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import utcnow
from portal.extensions import db

# Levels of government (CAPTHUCHIEN): 0 central, 1 province, 2 district, 3 commune, null other.
GOV_LEVELS = {0: "central", 1: "province", 2: "district", 3: "commune", None: "other"}
GOV_LEVEL_CODES = {v: k for k, v in GOV_LEVELS.items()}

# Channels (KENH): 1 in person, 2 online, 3 by post.
CHANNELS = {1: "in_person", 2: "online", 3: "post"}


class AgencyDict(TypedDict):
    code: str | None
    portal_code: str | None
    name: str
    level: str
    parent_code: str | None
    valid_from: str | None
    valid_to: str | None
    active: bool


class Agency(db.Model):
    """An agency with its electronic identity code (V1V2V3.Z1Z2.Y1Y2.MX1X2).

    ``valid_from``/``valid_to`` (end exclusive) make reorganisations data: the 2025 merger
    closes codes without deleting them, so dossiers filed before keep their agency.
    """

    __tablename__ = "agencies"
    __table_args__ = (sa.CheckConstraint("code IS NOT NULL OR portal_code IS NOT NULL", name="has_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    # The national portal's own department code where no identity code is known.
    portal_code: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    level1_code: Mapped[str | None] = mapped_column(sa.String(8), index=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    name_norm: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[str | None] = mapped_column(sa.String(200))
    level: Mapped[str] = mapped_column(sa.String(32))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    valid_from: Mapped[date | None] = mapped_column(sa.Date)
    valid_to: Mapped[date | None] = mapped_column(sa.Date)
    status_note: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    parent: Mapped[Agency | None] = relationship(remote_side=[id])

    @property
    def key(self) -> str:
        return self.code or self.portal_code  # type: ignore[return-value]

    def is_active(self, on: date | None = None) -> bool:
        on = on or date.today()
        return (self.valid_from is None or self.valid_from <= on) and (
            self.valid_to is None or on < self.valid_to
        )

    def serialize(self) -> AgencyDict:
        return {
            "code": self.code,
            "portal_code": self.portal_code,
            "name": self.name,
            "level": self.level,
            "parent_code": self.parent.key if self.parent else None,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "active": self.is_active(),
        }


class Province(db.Model):
    """A provincial-level unit (34 since 1 July 2025) and the old provinces that formed it."""

    __tablename__ = "provinces"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(8), unique=True)  # ma_dvhc
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str | None] = mapped_column(sa.String(32))
    merged: Mapped[bool] = mapped_column(default=False)
    formed_from: Mapped[list] = mapped_column(sa.JSON, default=list)
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))
    valid_from: Mapped[date | None] = mapped_column(sa.Date)
    valid_to: Mapped[date | None] = mapped_column(sa.Date)

    agency: Mapped[Agency | None] = relationship()

    def serialize(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "merged": self.merged,
            "formed_from": list(self.formed_from or []),
            "agency_code": self.agency.code if self.agency else None,
        }


class Field(db.Model):
    """A field (lĩnh vực). The national code when the source has one, else a slug of the name."""

    __tablename__ = "fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    name_norm: Mapped[str] = mapped_column(sa.String(300))

    def serialize(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name}


procedure_fields = sa.Table(
    "procedure_fields",
    db.metadata,
    sa.Column("procedure_id", sa.ForeignKey("procedures.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("field_id", sa.ForeignKey("fields.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class ProcedureLevel(db.Model):
    """A level of government that carries a procedure out."""

    __tablename__ = "procedure_levels"

    procedure_id: Mapped[int] = mapped_column(
        sa.ForeignKey("procedures.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(sa.String(16), primary_key=True, index=True)


class Procedure(db.Model):
    """An administrative procedure (thủ tục hành chính) as the national database records it.

    JSON shapes (all lists, possibly empty):
    - ``channels``: [{"channel": 1|2|3, "name", "timings": [{"amount": number|null,
      "unit": "working_day"|"day"|"hour"|null, "description", "fees": [{"kind":
      "phi"|"le_phi"|"unspecified", "amount": int đồng|null, "currency": "VND"|"USD"|null,
      "description"}]}]}]
    - ``documents``: [{"key", "case", "name", "originals", "copies", "template",
      "required"}]; ``key`` is stable across re-imports (a hash of case and name).
    - ``steps``: [{"case", "steps": [str]}]; ``legal_basis``: [{"number", "title"}];
      ``results``: [{"code", "name"}]; ``subjects``: [str]; ``implementing_bodies``: [str].
    - ``competent_bodies``: [str], the competent authority (cơ quan có thẩm quyền);
      ``coordinating_bodies``: [str], the agencies it coordinates with (cơ quan phối hợp).
      Both were added after procedures had been imported: rows written before hold ``[]``
      until the next import rewrites them.
    """

    __tablename__ = "procedures"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.Text)
    name_norm: Mapped[str] = mapped_column(sa.Text)
    # Normalised text of everything searchable besides the name (code, fields, agencies,
    # subjects, results), for diacritic-insensitive search that works on SQLite and PG.
    search_norm: Mapped[str] = mapped_column(sa.Text)
    decision_number: Mapped[str | None] = mapped_column(sa.String(200))
    kind: Mapped[str | None] = mapped_column(sa.String(300))
    publisher_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    publisher_name: Mapped[str | None] = mapped_column(sa.String(300))
    requirements: Mapped[str | None] = mapped_column(sa.Text)
    source_url: Mapped[str | None] = mapped_column(sa.String(500))
    channels: Mapped[list] = mapped_column(sa.JSON, default=list)
    documents: Mapped[list] = mapped_column(sa.JSON, default=list)
    steps: Mapped[list] = mapped_column(sa.JSON, default=list)
    legal_basis: Mapped[list] = mapped_column(sa.JSON, default=list)
    results: Mapped[list] = mapped_column(sa.JSON, default=list)
    subjects: Mapped[list] = mapped_column(sa.JSON, default=list)
    implementing_bodies: Mapped[list] = mapped_column(sa.JSON, default=list)
    competent_bodies: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    coordinating_bodies: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    # Shortest stated processing time, in working days, for sorting and due dates.
    processing_days: Mapped[int | None] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True, index=True)
    retired_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Hash of the source record: an unchanged record is not rewritten on re-import.
    source_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    publisher: Mapped[Agency | None] = relationship()
    fields: Mapped[list[Field]] = relationship(secondary=procedure_fields, order_by=Field.name)
    levels: Mapped[list[ProcedureLevel]] = relationship(cascade="all, delete-orphan")
    online_services: Mapped[list[OnlineService]] = relationship(
        back_populates="procedure", cascade="all, delete-orphan"
    )

    @property
    def level_names(self) -> list[str]:
        order = list(GOV_LEVEL_CODES)
        return sorted((lv.level for lv in self.levels), key=order.index)

    def serialize_summary(self) -> dict[str, Any]:
        services = [s for s in self.online_services if s.active]
        return {
            "code": self.code,
            "name": self.name,
            "levels": self.level_names,
            "fields": [f.serialize() for f in self.fields],
            "publisher": self.publisher.key if self.publisher else None,
            "publisher_name": self.publisher_name,
            "processing_days": self.processing_days,
            "online_level": max((s.level for s in services), default=None),
            "full_online": any(s.full_online for s in services),
            "active": self.active,
        }

    def serialize(self) -> dict[str, Any]:
        data = self.serialize_summary()
        data.update(
            {
                "decision_number": self.decision_number,
                "kind": self.kind,
                "requirements": self.requirements,
                "source_url": self.source_url,
                "channels": self.channels,
                "documents": self.documents,
                "steps": self.steps,
                "legal_basis": self.legal_basis,
                "results": self.results,
                "subjects": self.subjects,
                "implementing_bodies": self.implementing_bodies,
                "competent_bodies": self.competent_bodies,
                "coordinating_bodies": self.coordinating_bodies,
                "online_services": [s.serialize() for s in self.online_services if s.active],
                "retired_at": self.retired_at.isoformat() if self.retired_at else None,
            }
        )
        return data


class OnlineService(db.Model):
    """A procedure offered online at one agency (dịch vụ công trực tuyến).

    ``level`` is the Decree 43/2011 level (3: file online; 4: also pay and receive the
    result online); ``full_online`` is Decree 42/2022's toàn trình (else một phần).
    ``form_schema`` is the JSON Schema (draft 2020-12) of the filing form, with ``x-``
    hints for rendering (order, widget).
    """

    __tablename__ = "online_services"
    __table_args__ = (
        sa.UniqueConstraint("procedure_id", "agency_id", name="procedure_agency"),
        sa.CheckConstraint("level IN (3, 4)", name="level_3_or_4"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(sa.ForeignKey("procedures.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    level: Mapped[int] = mapped_column(sa.SmallInteger)
    full_online: Mapped[bool] = mapped_column(default=False)
    pays_online: Mapped[bool] = mapped_column(default=False)
    form_schema: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    procedure: Mapped[Procedure] = relationship(back_populates="online_services")
    agency: Mapped[Agency] = relationship()

    def serialize(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agency_code": self.agency.key,
            "agency_name": self.agency.name,
            "level": self.level,
            "full_online": self.full_online,
            "pays_online": self.pays_online,
        }


class CatalogImport(db.Model):
    """One run of an import (``flask catalog import``, or the back office): what it changed,
    what it rejected, what it warned about, and who started it."""

    __tablename__ = "catalog_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    source: Mapped[str] = mapped_column(sa.String(500))
    full: Mapped[bool] = mapped_column(default=True)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    retired: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[list] = mapped_column(sa.JSON, default=list)  # [{"code", "reason"}]
    # [{"code", "message"}]: records imported without something they carried.
    warnings: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    # A staff member's e-mail (the back office) or "flask catalog" (the shell).
    started_by: Mapped[str | None] = mapped_column(sa.String(254))

    def serialize(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "source": self.source,
            "full": self.full,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "retired": self.retired,
            "rejected": list(self.rejected or []),
            "warnings": list(self.warnings or []),
            "started_by": self.started_by,
        }
