"""Agencies and provinces from their own files, imported before the procedures that refer
to them. The 2025 reorganisation is data: closed codes get an end date and stay.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from services_catalog.models import Agency, Province
from services_catalog.normalize import fold
from services_catalog.reading import ValueReader, kind_of
from services_catalog.report import ImportFileError, ImportReport, RecordRejected

# The 2025 reorganisation, as data: ministries merged on 1 March 2025, provinces on 1 July.
MINISTRY_MERGER = date(2025, 3, 1)
PROVINCE_MERGER = date(2025, 7, 1)


def _validity(status: str | None) -> date | None:
    folded = fold(status)
    if folded.startswith("historical"):
        return MINISTRY_MERGER
    if folded.startswith("closed"):
        return PROVINCE_MERGER
    return None


def import_agencies(data: Any, report: ImportReport, source: str) -> None:
    """Upsert agencies by identity code (or portal code), then link parents.

    Closed codes get ``valid_to`` (the date of the reorganisation that closed them) and stay.

    :raises ImportFileError: the file has no list of agencies.
    """
    items = data.get("agencies") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ImportFileError(f"{source}: expected an object with a list 'agencies'")
    agencies = list(db.session.scalars(sa.select(Agency)))
    by_code = {a.code: a for a in agencies if a.code}
    by_portal_code = {a.portal_code: a for a in agencies if a.portal_code}
    parents: list[tuple[Agency, str]] = []
    for raw in items:
        read = ValueReader()
        try:
            if not isinstance(raw, dict):
                raise RecordRejected(f"the agency is not a JSON object but {kind_of(raw)}")
            code = read.text(raw.get("code"), "code", 32)
            portal_code = read.text(raw.get("portal_code"), "portal_code", 32)
            name = read.text(raw.get("name"), "name", 300)
            if not (code or portal_code) or not name:
                raise RecordRejected("an agency needs a code and a name")
            status = read.text(raw.get("status"), "status")
            level1 = read.text(raw.get("level1_code"), "level1_code", 8, overflow="drop")
            if level1 is None and code and len(code.rsplit(".", 1)[-1]) <= 8:
                level1 = code.rsplit(".", 1)[-1]
            values = {
                "name": name,
                "name_norm": fold(name)[:300],
                "level1_code": level1,
                "kind": read.text(raw.get("type"), "type", 200, overflow="truncate"),
                "level": read.text(raw.get("level"), "level", 32, overflow="drop") or "other",
                "valid_to": _validity(status),
                "status_note": status,
            }
            parent_code = read.text(raw.get("parent_code"), "parent_code", 32, overflow="drop")
        except RecordRejected as exc:
            report.reject(
                raw.get("code") or raw.get("portal_code") if isinstance(raw, dict) else None, f"agency: {exc}"
            )
            continue
        agency = (by_code.get(code) if code else None) or (
            by_portal_code.get(portal_code) if portal_code else None
        )
        if agency is None:
            agency = Agency(code=code, portal_code=portal_code)
            db.session.add(agency)
        elif code and agency.code != code:
            agency.code = code  # a department known by its portal code has got its identity code
        if code:
            by_code[code] = agency
        if portal_code:
            by_portal_code[portal_code] = agency
        for key, value in values.items():
            if getattr(agency, key) != value:
                setattr(agency, key, value)
        for message in read.warnings:
            report.warn(code or portal_code, f"agency: {message}")
        parents.append((agency, parent_code or ""))
        report.agencies += 1
    db.session.flush()
    for agency, parent_code in parents:
        parent = (by_code.get(parent_code) or by_portal_code.get(parent_code)) if parent_code else None
        if parent_code and parent is None:
            report.warn(agency.key, f"agency: unknown parent {parent_code}; recorded without one")
        elif parent is not None and _would_cycle(agency, parent):
            report.warn(agency.key, f"agency: parent {parent_code} would make a cycle; recorded without one")
            parent = None
        if agency.parent is not parent:
            agency.parent = parent


def _would_cycle(agency: Agency, parent: Agency) -> bool:
    seen = set()
    current: Agency | None = parent
    while current is not None and current.id not in seen:
        if current.id == agency.id:
            return True
        seen.add(current.id)
        current = current.parent
    return False


def import_provinces(data: Any, report: ImportReport, source: str) -> None:
    """Upsert the provincial-level units of the 2025 map, linked to their people's committee
    where its identity code is known.

    :raises ImportFileError: the file has no list of provinces.
    """
    items = data.get("provinces") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ImportFileError(f"{source}: expected an object with a list 'provinces'")
    agencies = {a.code: a for a in db.session.scalars(sa.select(Agency).where(Agency.code.is_not(None)))}
    existing = {p.code: p for p in db.session.scalars(sa.select(Province))}
    for raw in items:
        read = ValueReader()
        try:
            if not isinstance(raw, dict):
                raise RecordRejected(f"the province is not a JSON object but {kind_of(raw)}")
            code = read.text(raw.get("ma_dvhc"), "ma_dvhc", 8)
            name = read.text(raw.get("ten"), "ten", 200)
            if not code or not name:
                raise RecordRejected("a province needs ma_dvhc and ten")
            agency_code = read.text(raw.get("ma_dinh_danh_cap1"), "ma_dinh_danh_cap1", 32, overflow="drop")
            kind = read.text(raw.get("loai"), "loai", 32, overflow="drop")
            formed_from = raw.get("hop_nhat_tu") or []
            if not isinstance(formed_from, list):
                raise RecordRejected(f"hop_nhat_tu must be a list, found {kind_of(formed_from)}")
            formed_from = [t for x in formed_from if (t := read.text(x, "hop_nhat_tu", 200, overflow="drop"))]
        except RecordRejected as exc:
            report.reject(raw.get("ma_dvhc") if isinstance(raw, dict) else None, f"province: {exc}")
            continue
        agency = agencies.get(agency_code) if agency_code else None
        if agency_code and agency is None:
            read.warn(f"its people's committee {agency_code} is not among the known agencies")
        province = existing.get(code)
        if province is None:
            province = Province(code=code)
            db.session.add(province)
            existing[code] = province
        values = {
            "name": name,
            "kind": kind,
            "merged": bool(raw.get("sap_nhap")),
            "formed_from": formed_from,
            "agency_id": agency.id if agency else None,
            "valid_from": PROVINCE_MERGER,
        }
        for key, value in values.items():
            if getattr(province, key) != value:
                setattr(province, key, value)
        for message in read.warnings:
            report.warn(code, f"province: {message}")
        report.provinces += 1
