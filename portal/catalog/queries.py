"""Catalog reads, in SQLAlchemy 2.0 ``select()`` style. Nothing here commits.

Search is a substring match on folded text (see services_catalog.normalize): every word of
the query must appear in the procedure's name or its other searchable text; the procedure
whose code is the query ranks first, then matches of the whole phrase in the name, then all
words in the name, then the rest; ties by shorter name. LIKE wildcards cannot come from a
query (folding leaves letters, digits and spaces, and words are escaped anyway). The same
SQL runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import load_only, selectinload

from portal.extensions import db
from services_catalog.models import (
    Agency,
    Field,
    OnlineService,
    Procedure,
    ProcedureLevel,
    Province,
    procedure_fields,
)
from services_catalog.normalize import fold

MAX_QUERY_WORDS = 12


@dataclass(frozen=True)
class SearchParams:
    """Validated search parameters (see portal.catalog.service.parse_search_params)."""

    q: str = ""
    level: str | None = None
    agency: str | None = None
    field: str | None = None
    online_level: int | None = None
    full_online: bool = False
    page: int = 1
    per_page: int = 20

    def cache_key(self) -> str:
        # JSON, not a joined string: a "|" in q or in a code cannot make two searches collide.
        return json.dumps(
            [
                self.q.strip(),
                self.level,
                self.agency,
                self.field,
                self.online_level,
                self.full_online,
                self.page,
                self.per_page,
            ],
            ensure_ascii=False,
        )


@dataclass
class SearchResult:
    items: list[dict]
    total: int
    page: int
    per_page: int
    facets: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column, text: str):
    return column.like(f"%{_like_escape(text)}%", escape="\\")


# What a summary needs, and nothing else: the JSON columns (channels, documents, steps, the
# online services' form schemas) are neither loaded nor decoded for a list of results.
SUMMARY_OPTIONS = (
    load_only(
        Procedure.id,
        Procedure.code,
        Procedure.name,
        Procedure.publisher_id,
        Procedure.publisher_name,
        Procedure.processing_days,
        Procedure.active,
    ),
    selectinload(Procedure.fields),
    selectinload(Procedure.levels),
    selectinload(Procedure.publisher),
    selectinload(Procedure.online_services).load_only(
        OnlineService.id,
        OnlineService.procedure_id,
        OnlineService.level,
        OnlineService.full_online,
        OnlineService.active,
    ),
)


def agency_subtree_ids(code: str) -> list[int]:
    """Ids of the agency with identity (or portal) code ``code`` and all agencies below it."""
    rows = db.session.execute(sa.select(Agency.id, Agency.parent_id, Agency.code, Agency.portal_code)).all()
    root = next((r.id for r in rows if code in (r.code, r.portal_code)), None)
    if root is None:
        return []
    children: dict[int | None, list[int]] = {}
    for r in rows:
        children.setdefault(r.parent_id, []).append(r.id)
    found, stack = {root}, [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:  # a cycle in the data must not loop forever
                found.add(child)
                stack.append(child)
    return sorted(found)


def search_procedures(params: SearchParams) -> SearchResult:
    """Active procedures matching ``params``, ranked, one page of summaries."""
    conditions = [Procedure.active.is_(True)]
    words = fold(params.q).split()[:MAX_QUERY_WORDS]
    phrase = " ".join(words)
    if params.q.strip() and not words:
        # Only punctuation, symbols or emoji: nothing to look for, so nothing is found
        # (rather than everything, as an empty query would list).
        conditions.append(sa.false())
    for word in words:
        conditions.append(
            sa.or_(_contains(Procedure.name_norm, word), _contains(Procedure.search_norm, word))
        )
    if params.level:
        conditions.append(
            sa.exists().where(
                ProcedureLevel.procedure_id == Procedure.id, ProcedureLevel.level == params.level
            )
        )
    if params.field:
        conditions.append(
            sa.exists().where(
                procedure_fields.c.procedure_id == Procedure.id,
                procedure_fields.c.field_id == Field.id,
                Field.code == params.field,
            )
        )
    service_conditions = [OnlineService.procedure_id == Procedure.id, OnlineService.active.is_(True)]
    if params.online_level:
        service_conditions.append(OnlineService.level == params.online_level)
    if params.full_online:
        service_conditions.append(OnlineService.full_online.is_(True))
    if params.agency:
        ids = agency_subtree_ids(params.agency) or [-1]
        offered_there = sa.exists().where(*service_conditions, OnlineService.agency_id.in_(ids))
        if params.online_level or params.full_online:
            conditions.append(offered_there)
        else:
            conditions.append(sa.or_(Procedure.publisher_id.in_(ids), offered_there))
    elif params.online_level or params.full_online:
        conditions.append(sa.exists().where(*service_conditions))

    if words:
        rank = sa.case(
            (Procedure.code == params.q.strip(), 0),
            (_contains(Procedure.name_norm, phrase), 1),
            (sa.and_(*[_contains(Procedure.name_norm, w) for w in words]), 2),
            else_=3,
        )
        order = [rank, sa.func.length(Procedure.name_norm), Procedure.name_norm, Procedure.code]
    else:
        order = [Procedure.name_norm, Procedure.code]

    total = db.session.scalar(sa.select(sa.func.count()).select_from(Procedure).where(*conditions))
    rows = db.session.scalars(
        sa.select(Procedure)
        .where(*conditions)
        .order_by(*order)
        .limit(params.per_page)
        .offset((params.page - 1) * params.per_page)
        .options(*SUMMARY_OPTIONS)
    ).all()
    return SearchResult(
        items=[p.serialize_summary() for p in rows],
        total=total or 0,
        page=params.page,
        per_page=params.per_page,
    )


def get_procedure(code: str) -> dict | None:
    """The whole procedure (active or retired) with its online services, or None."""
    procedure = db.session.scalar(
        sa.select(Procedure)
        .where(Procedure.code == code)
        .options(
            selectinload(Procedure.fields),
            selectinload(Procedure.levels),
            selectinload(Procedure.publisher),
            selectinload(Procedure.online_services).selectinload(OnlineService.agency),
        )
    )
    return procedure.serialize() if procedure else None


def list_agencies() -> list[dict]:
    agencies = db.session.scalars(
        sa.select(Agency).options(selectinload(Agency.parent)).order_by(Agency.code, Agency.portal_code)
    ).all()
    return [a.serialize() for a in agencies]


def list_fields() -> list[dict]:
    counts = (
        sa.select(procedure_fields.c.field_id, sa.func.count().label("n"))
        .join(Procedure, Procedure.id == procedure_fields.c.procedure_id)
        .where(Procedure.active.is_(True))
        .group_by(procedure_fields.c.field_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Field, sa.func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.field_id == Field.id)
        .order_by(Field.name)
    ).all()
    return [{**f.serialize(), "procedures": n} for f, n in rows]


def list_provinces() -> list[dict]:
    provinces = db.session.scalars(
        sa.select(Province).options(selectinload(Province.agency)).order_by(Province.name)
    ).all()
    return [p.serialize() for p in provinces]


def popular_procedures(codes: list[str], limit: int = 8) -> list[dict]:
    """The configured popular procedures, topped up with fully-online ones."""
    chosen: list[Procedure] = []
    options = SUMMARY_OPTIONS
    if codes:
        found = {
            p.code: p
            for p in db.session.scalars(
                sa.select(Procedure)
                .where(Procedure.code.in_(codes), Procedure.active.is_(True))
                .options(*options)
            )
        }
        chosen = [found[c] for c in codes if c in found][:limit]
    if len(chosen) < limit:
        more = db.session.scalars(
            sa.select(Procedure)
            .where(
                Procedure.active.is_(True),
                Procedure.code.not_in([p.code for p in chosen] or [""]),
                sa.exists().where(
                    OnlineService.procedure_id == Procedure.id,
                    OnlineService.active.is_(True),
                    OnlineService.full_online.is_(True),
                ),
            )
            .order_by(Procedure.processing_days.is_(None), Procedure.processing_days, Procedure.code)
            .limit(limit - len(chosen))
            .options(*options)
        ).all()
        chosen += list(more)
    return [p.serialize_summary() for p in chosen]
