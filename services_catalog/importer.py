"""Import the national database's export into the catalog.

The export is real and imperfect: the importer takes records as they are, reports each one
it cannot use by code with its reason, and never crashes on them. The whole import is one
transaction: a failure (a malformed file, a database error) leaves the catalog as it was.

Running an import twice changes nothing; a changed record updates its procedure; in a full
import, procedures missing from the file are retired (``active = False``), never deleted.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal.db import utcnow
from portal.extensions import db
from services_catalog.forms import form_schema_for
from services_catalog.models import (
    GOV_LEVELS,
    Agency,
    CatalogImport,
    Field,
    OnlineService,
    Procedure,
    ProcedureLevel,
    Province,
)
from services_catalog.normalize import fold, slug

MAX_CODE_LENGTH = 64
MAX_NAME_LENGTH = 2000

# The 2025 reorganisation, as data: ministries merged on 1 March 2025, provinces on 1 July.
MINISTRY_MERGER = date(2025, 3, 1)
PROVINCE_MERGER = date(2025, 7, 1)

UNITS = {"ngay lam viec": "working_day", "ngay": "day", "gio": "hour"}


class ImportFileError(Exception):
    """The file cannot be read as an export at all (not JSON, truncated, wrong shape)."""


class RecordRejected(Exception):
    """One record cannot be used; the import goes on without it."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    rejected: list[dict] = field(default_factory=list)
    agencies: int = 0
    provinces: int = 0
    online_services: int = 0
    import_id: int | None = None

    def reject(self, code: Any, reason: str) -> None:
        self.rejected.append({"code": code if isinstance(code, str) else None, "reason": reason})


# ---------------------------------------------------------------------------- reading files


def read_json_file(path: str | Path) -> Any:
    """Parse a JSON file, or raise ImportFileError saying where it breaks.

    :raises ImportFileError: missing, unreadable, not UTF-8, not JSON or truncated.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    if not text.strip():
        raise ImportFileError(f"{path}: the file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as first_error:
        # JSON Lines: one record per line.
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise ImportFileError(
                    f"{path}: not valid JSON at line {first_error.lineno}, column "
                    f"{first_error.colno} ({first_error.msg}); the file may be truncated"
                ) from first_error
        return records


def procedure_records(data: Any, source: str) -> list:
    """The list of procedure records in an export (a list, or an object holding one).

    :raises ImportFileError: no list of records in it.
    """
    if isinstance(data, dict):
        for key in ("procedures", "data", "items", "result"):
            if isinstance(data.get(key), list):
                return data[key]
        raise ImportFileError(f"{source}: expected a list of procedure records")
    if not isinstance(data, list):
        raise ImportFileError(f"{source}: expected a list of procedure records")
    return data


# ---------------------------------------------------------------------- parsing one record


def _text(value: Any, limit: int | None = None) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise RecordRejected(f"expected text, found {type(value).__name__}")
    value = value.replace("\x00", "").strip()
    if limit and len(value) > limit:
        raise RecordRejected(f"text longer than {limit} characters")
    return value or None


def _list(record: dict, key: str) -> list:
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordRejected(f"{key} must be a list")
    return [item for item in value if isinstance(item, dict)]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)) and math.isfinite(value) and value >= 0:
        return value
    if isinstance(value, str):
        try:
            number = float(value.replace(",", "."))
        except ValueError:
            return None
        return number if math.isfinite(number) and number >= 0 else None
    return None


def _fee_kind(description: str | None) -> str:
    folded = fold(description)
    if "le phi" in folded:
        return "le_phi"
    if "phi" in folded.split():
        return "phi"
    return "unspecified"


def _parse_fee(raw: dict) -> dict:
    description = _text(raw.get("MOTA"))
    unit = fold(_text(raw.get("DONVI")))
    amount = _number(raw.get("SOTIEN"))
    fee: dict[str, Any] = {"kind": _fee_kind(description), "amount": None, "currency": None,
                           "description": description}
    if amount is None:
        return fee
    if unit in ("", "dong", "vnd", "vnđ", "d"):
        # Đồng are whole numbers: money is never a float here.
        fee["amount"] = int(round(amount))
        fee["currency"] = "VND"
    elif unit == "usd":
        fee["currency"] = "USD"
        fee["foreign_amount"] = f"{amount:g}"
    return fee


def _parse_channels(record: dict) -> list[dict]:
    channels = []
    for raw in _list(record, "CACHTHUCTHUCHIEN"):
        try:
            channel = int(str(raw.get("KENH")).strip())
        except ValueError:
            continue
        if channel not in (1, 2, 3):
            continue
        timings = []
        for t in raw.get("THOIGIAN") or []:
            if not isinstance(t, dict):
                continue
            unit = UNITS.get(fold(_text(t.get("DONVITINH"))))
            timings.append(
                {
                    "amount": _number(t.get("THOIGIANGIAIQUYET")),
                    "unit": unit,
                    "description": _text(t.get("MOTA")),
                    "fees": [_parse_fee(p) for p in (t.get("PHILEPHI") or []) if isinstance(p, dict)],
                }
            )
        channels.append({"channel": channel, "name": _text(raw.get("TENKENH")), "timings": timings})
    return channels


def _parse_documents(record: dict) -> list[dict]:
    documents = []
    for group in _list(record, "THANHPHANHOSO"):
        case = _text(group.get("TRUONGHOP")) or ""
        for raw in group.get("GIAYTO") or []:
            if not isinstance(raw, dict):
                continue
            name = _text(raw.get("TENGIAYTO"))
            if not name:
                continue
            originals = int(_number(raw.get("SOBANCHINH")) or 0)
            copies = int(_number(raw.get("SOBANSAO")) or 0)
            templates = [
                _text(t.get("TENMAUDON")).lstrip(".;, ")
                for t in (raw.get("MAUDON") or [])
                if isinstance(t, dict) and _text(t.get("TENMAUDON"))
            ]
            key = hashlib.sha1(f"{case}\x1f{name}".encode()).hexdigest()[:12]
            folded = fold(name)
            documents.append(
                {
                    "key": key,
                    "case": case,
                    "name": name,
                    "originals": originals,
                    "copies": copies,
                    "templates": templates,
                    # Rows with no copy asked for are notes; "(nếu có)" marks optional papers.
                    "required": (originals + copies) > 0 and "neu co" not in folded,
                    "note": (originals + copies) == 0,
                }
            )
    # The same paper listed twice in one case is one upload slot.
    unique = {d["key"]: d for d in documents}
    return list(unique.values())


def _processing_days(channels: list[dict]) -> int | None:
    best = None
    ordered = sorted(channels, key=lambda c: c["channel"] != 2)  # the online channel first
    for channel in ordered:
        for timing in channel["timings"]:
            amount, unit = timing["amount"], timing["unit"]
            if amount is None or amount == 0:
                continue
            days = math.ceil(amount / 8) if unit == "hour" else math.ceil(amount)
            best = days if best is None else min(best, days)
        if best is not None:
            return best
    return best


@dataclass
class ParsedProcedure:
    code: str
    name: str
    levels: list[str]
    field_names: list[tuple[str | None, str]]
    publisher_level1: str | None
    values: dict[str, Any]
    source_hash: str


def parse_procedure(record: Any) -> ParsedProcedure:
    """Turn one export record into the catalog's shape.

    :raises RecordRejected: the record lacks its code or name, or has the wrong shape.
    """
    if not isinstance(record, dict):
        raise RecordRejected("the record is not a JSON object")
    code = _text(record.get("MATTHC"), MAX_CODE_LENGTH)
    if not code:
        raise RecordRejected("MATTHC (the procedure code) is missing")
    name = _text(record.get("TENTTHC"), MAX_NAME_LENGTH)
    if not name:
        raise RecordRejected("TENTTHC (the procedure name) is missing")

    levels = []
    for item in _list(record, "CAPTHUCHIEN"):
        raw_level = item.get("CAPTHUCHIEN")
        try:
            level = GOV_LEVELS[int(raw_level)] if raw_level not in (None, "") else GOV_LEVELS[None]
        except (ValueError, TypeError, KeyError):
            raise RecordRejected(f"unknown level of government {raw_level!r}") from None
        if level not in levels:
            levels.append(level)

    field_names = []
    for item in _list(record, "LINHVUCTHUCHIEN"):
        fname = _text(item.get("TENLINHVUC"), 300)
        if fname:
            field_names.append((_text(item.get("MALINHVUC"), 64), fname))

    channels = _parse_channels(record)
    values = {
        "name": name,
        "decision_number": _text(record.get("SOQUYETDINH"), 200),
        "kind": _text(record.get("LOAITTHC"), 300),
        "publisher_name": _text(record.get("TENCOQUANCONGBO"), 300),
        "requirements": _text(record.get("YEUCAU")) if not isinstance(record.get("YEUCAU"), (list, dict)) else None,
        "source_url": _text(record.get("URL"), 500),
        "channels": channels,
        "documents": _parse_documents(record),
        "steps": [
            {
                "case": _text(group.get("TRUONGHOP")) or "",
                "steps": [
                    _text(s.get("TENTRINHTU"))
                    for s in (group.get("TRINHTU") or [])
                    if isinstance(s, dict) and _text(s.get("TENTRINHTU"))
                ],
            }
            for group in _list(record, "TRINHTUTHUCHIEN")
        ],
        "legal_basis": [
            {"number": _text(item.get("SOVANBAN")), "title": _text(item.get("TENVANBAN"))}
            for item in _list(record, "CANCUPHAPLY")
            if _text(item.get("SOVANBAN")) or _text(item.get("TENVANBAN"))
        ],
        "results": [
            {"code": _text(item.get("MAKETQUA")), "name": _text(item.get("TENKETQUA"))}
            for item in _list(record, "KETQUATHUCHIEN")
            if _text(item.get("TENKETQUA"))
        ],
        "subjects": [
            _text(item.get("TENDOITUONG"))
            for item in _list(record, "DOITUONGTHUCHIEN")
            if _text(item.get("TENDOITUONG"))
        ],
        "implementing_bodies": list(
            dict.fromkeys(
                _text(item.get("TENDONVI"))
                for item in _list(record, "COQUANTHUCHIEN")
                if _text(item.get("TENDONVI"))
            )
        ),
        "processing_days": _processing_days(channels),
    }
    digest = hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return ParsedProcedure(
        code=code,
        name=name,
        levels=levels or [GOV_LEVELS[None]],
        field_names=field_names,
        publisher_level1=_text(record.get("MACOQUANCONGBO"), 8),
        values=values,
        source_hash=digest,
    )


# ------------------------------------------------------------------------ agencies, provinces


def _validity(status: str | None) -> date | None:
    folded = fold(status)
    if folded.startswith("historical"):
        return MINISTRY_MERGER
    if folded.startswith("closed"):
        return PROVINCE_MERGER
    return None


def import_agencies(data: Any, report: ImportReport, source: str) -> None:
    """Upsert agencies by identity code (or portal code), then link parents.

    :raises ImportFileError: the file has no list of agencies.
    """
    items = data.get("agencies") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ImportFileError(f"{source}: expected an object with a list 'agencies'")
    existing = {a.key: a for a in db.session.scalars(sa.select(Agency))}
    parents: list[tuple[Agency, str]] = []
    for raw in items:
        try:
            if not isinstance(raw, dict):
                raise RecordRejected("the agency is not a JSON object")
            code = _text(raw.get("code"), 32)
            portal_code = _text(raw.get("portal_code"), 32)
            name = _text(raw.get("name"), 300)
            if not (code or portal_code) or not name:
                raise RecordRejected("an agency needs a code and a name")
        except RecordRejected as exc:
            report.reject(raw.get("code") if isinstance(raw, dict) else None, f"agency: {exc}")
            continue
        agency = existing.get(code or portal_code)
        if agency is None:
            agency = Agency(code=code, portal_code=portal_code)
            db.session.add(agency)
            existing[agency.key] = agency
        status = _text(raw.get("status"))
        values = {
            "name": name,
            "name_norm": fold(name),
            "level1_code": _text(raw.get("level1_code"), 8) or (code.rsplit(".", 1)[-1] if code else None),
            "kind": _text(raw.get("type"), 200),
            "level": _text(raw.get("level"), 32) or "other",
            "valid_to": _validity(status),
            "status_note": status,
        }
        for key, value in values.items():
            if getattr(agency, key) != value:
                setattr(agency, key, value)
        parent_code = _text(raw.get("parent_code"), 32)
        if parent_code:
            parents.append((agency, parent_code))
        report.agencies += 1
    db.session.flush()
    for agency, parent_code in parents:
        parent = existing.get(parent_code)
        if parent is None:
            report.reject(agency.key, f"agency: unknown parent {parent_code}")
        elif agency.parent_id != parent.id:
            agency.parent_id = parent.id


def import_provinces(data: Any, report: ImportReport, source: str) -> None:
    """Upsert the provincial-level units of the 2025 map.

    :raises ImportFileError: the file has no list of provinces.
    """
    items = data.get("provinces") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ImportFileError(f"{source}: expected an object with a list 'provinces'")
    agencies = {a.code: a for a in db.session.scalars(sa.select(Agency).where(Agency.code.is_not(None)))}
    existing = {p.code: p for p in db.session.scalars(sa.select(Province))}
    for raw in items:
        if not isinstance(raw, dict) or not _text(raw.get("ma_dvhc")) or not _text(raw.get("ten")):
            report.reject(None, "province: needs ma_dvhc and ten")
            continue
        code = _text(raw.get("ma_dvhc"), 8)
        province = existing.get(code) or Province(code=code)
        if province.id is None:
            db.session.add(province)
            existing[code] = province
        agency = agencies.get(_text(raw.get("ma_dinh_danh_cap1")) or "")
        province.name = _text(raw.get("ten"), 200)
        province.kind = _text(raw.get("loai"), 32)
        province.merged = bool(raw.get("sap_nhap"))
        province.formed_from = [x for x in raw.get("hop_nhat_tu") or [] if isinstance(x, str)]
        province.agency_id = agency.id if agency else None
        province.valid_from = PROVINCE_MERGER
        report.provinces += 1


# ------------------------------------------------------------------------------ procedures


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
    if {"province", "district", "commune"} & set(levels):
        targets.extend(provinces)
    return targets


class ProcedureWriter:
    """Writes parsed procedures, keeping lookups in memory for the length of one import."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self.fields = {f.code: f for f in db.session.scalars(sa.select(Field))}
        agencies = list(db.session.scalars(sa.select(Agency)))
        self.ministries = {
            a.level1_code: a for a in agencies if a.code and a.code.startswith("000.00.00.G") and a.is_active()
        }
        self.provinces = sorted(
            (a for a in agencies if a.code and a.code.startswith("000.00.00.H") and a.is_active()),
            key=lambda a: a.code,
        )
        self.existing = {
            p.code: p
            for p in db.session.scalars(
                sa.select(Procedure).options(
                    selectinload(Procedure.levels),
                    selectinload(Procedure.fields),
                    selectinload(Procedure.online_services),
                )
            )
        }

    def field_for(self, national_code: str | None, name: str) -> Field:
        code = national_code or slug(name)
        found = self.fields.get(code)
        if found is None:
            found = Field(code=code, name=name, name_norm=fold(name))
            db.session.add(found)
            self.fields[code] = found
        return found

    def write(self, parsed: ParsedProcedure) -> None:
        procedure = self.existing.get(parsed.code)
        if procedure is not None and procedure.active and procedure.source_hash == parsed.source_hash:
            self.report.unchanged += 1
            return
        now = utcnow()
        if procedure is None:
            procedure = Procedure(code=parsed.code, created_at=now)
            db.session.add(procedure)
            self.existing[parsed.code] = procedure
            self.report.created += 1
        else:
            self.report.updated += 1
        publisher = self.ministries.get(parsed.publisher_level1 or "")
        fields = list(dict.fromkeys(self.field_for(c, n) for c, n in parsed.field_names))
        for key, value in parsed.values.items():
            setattr(procedure, key, value)
        procedure.name_norm = fold(parsed.name)
        procedure.search_norm = fold(
            " ".join(
                [parsed.code, procedure.publisher_name or ""]
                + [f.name for f in fields]
                + procedure.subjects
                + [r["name"] for r in procedure.results]
                + procedure.implementing_bodies
            )
        )
        procedure.publisher = publisher
        procedure.fields = fields
        current_levels = {lv.level: lv for lv in procedure.levels}
        procedure.levels = [current_levels.get(level) or ProcedureLevel(level=level) for level in parsed.levels]
        procedure.active = True
        procedure.retired_at = None
        procedure.source_hash = parsed.source_hash
        procedure.updated_at = now
        self._sync_online_services(procedure, parsed, publisher, fields)

    def _sync_online_services(self, procedure: Procedure, parsed: ParsedProcedure,
                              publisher: Agency | None, fields: list[Field]) -> None:
        offer = _online_level(procedure.channels)
        current = {s.agency_id: s for s in procedure.online_services}
        wanted = _service_agencies(parsed.levels, publisher, self.provinces) if offer else []
        wanted_ids = set()
        for agency in wanted:
            if agency.id in wanted_ids:
                continue
            wanted_ids.add(agency.id)
            level, full_online, pays_online = offer  # type: ignore[misc]
            schema = form_schema_for(procedure.name, [f.name for f in fields], level)
            service = current.get(agency.id)
            if service is None:
                service = OnlineService(agency=agency)
                procedure.online_services.append(service)
            service.level, service.full_online, service.pays_online = level, full_online, pays_online
            service.form_schema = schema
            service.active = True
            self.report.online_services += 1
        for agency_id, service in current.items():
            if agency_id not in wanted_ids:
                service.active = False

    def retire_missing(self, seen: set[str]) -> None:
        now = utcnow()
        for code, procedure in self.existing.items():
            if code not in seen and procedure.active:
                procedure.active = False
                procedure.retired_at = now
                procedure.updated_at = now
                for service in procedure.online_services:
                    service.active = False
                self.report.retired += 1


def import_records(
    records: Iterable[Any],
    *,
    full: bool = True,
    source: str = "records",
    agencies: Any = None,
    provinces: Any = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import parsed JSON (procedure records, optional agencies and provinces documents).

    Does not commit: :func:`import_catalog` and the CLI own the transaction.
    """
    report = ImportReport()
    if agencies is not None:
        import_agencies(agencies, report, source)
    if provinces is not None:
        import_provinces(provinces, report, source)
    db.session.flush()
    writer = ProcedureWriter(report)
    seen: set[str] = set()
    for record in records:
        code = record.get("MATTHC") if isinstance(record, dict) else None
        try:
            parsed = parse_procedure(record)
            if parsed.code in seen:
                raise RecordRejected("the same MATTHC appears earlier in the file")
            seen.add(parsed.code)
            writer.write(parsed)
        except RecordRejected as exc:
            report.reject(code, str(exc))
            if isinstance(code, str) and code.strip():
                # A record we could not read still exists at the source: keep ours.
                seen.add(code.strip())
        if progress:
            progress(1)
    if full:
        writer.retire_missing(seen)
    log_entry = CatalogImport(
        source=source[:500],
        full=full,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        retired=report.retired,
        rejected=report.rejected,
        finished_at=utcnow(),
    )
    db.session.add(log_entry)
    db.session.flush()
    report.import_id = log_entry.id
    return report


def import_catalog(
    procedures_path: str | Path,
    *,
    agencies_path: str | Path | None = None,
    provinces_path: str | Path | None = None,
    full: bool = True,
    progress_factory: Callable[[int], Any] | None = None,
) -> ImportReport:
    """Import the files in one transaction and invalidate cached catalog reads.

    :raises ImportFileError: a file cannot be read; nothing was changed.
    """
    from portal.cache import invalidate

    data = read_json_file(procedures_path)
    records = procedure_records(data, str(procedures_path))
    agencies = read_json_file(agencies_path) if agencies_path else None
    provinces = read_json_file(provinces_path) if provinces_path else None
    try:
        if progress_factory:
            with progress_factory(len(records)) as bar:
                report = import_records(records, full=full, source=str(procedures_path),
                                        agencies=agencies, provinces=provinces, progress=bar.update)
        else:
            report = import_records(records, full=full, source=str(procedures_path),
                                    agencies=agencies, provinces=provinces)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    invalidate("catalog")
    return report
