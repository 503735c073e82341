"""Import the national database's export into the catalog.

The export is real and imperfect: the importer takes records as they are, reports each one
it cannot use by code with its reason, warns about what it had to leave out of the ones it
keeps, and never crashes on them. The whole import is one transaction: a failure (a
malformed file, a database error) leaves the catalog as it was.

Running an import twice changes nothing; a changed record updates its procedure; in a full
import, procedures missing from the file are retired (``active = False``), never deleted.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

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
    procedure_fields,
)
from services_catalog.normalize import fold, slug

# Part of every procedure's fingerprint: bump it when parsing or forms change, so that the
# next import rewrites procedures whose records did not change.
IMPORTER_VERSION = "2"

MAX_CODE_LENGTH = 64
MAX_NAME_LENGTH = 2000
# Beyond these a number in a record is a typo, and would overflow the columns it feeds.
MAX_QUANTITY = 100_000
MAX_FEE_DONG = 10**13
# New procedures are flushed, and changed ones loaded, this many at a time.
BATCH_SIZE = 500

# The 2025 reorganisation, as data: ministries merged on 1 March 2025, provinces on 1 July.
MINISTRY_MERGER = date(2025, 3, 1)
PROVINCE_MERGER = date(2025, 7, 1)

LEVEL1_PREFIX = "000.00.00."
PROVINCIAL_LEVELS = {"province", "district", "commune"}


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
    # [{"code", "reason"}]: records left out.
    rejected: list[dict] = field(default_factory=list)
    # [{"code", "message"}]: records imported without something they carried.
    warnings: list[dict] = field(default_factory=list)
    agencies: int = 0
    provinces: int = 0
    online_services: int = 0
    import_id: int | None = None

    def reject(self, code: Any, reason: str) -> None:
        self.rejected.append({"code": _report_code(code), "reason": reason})

    def warn(self, code: Any, message: str) -> None:
        self.warnings.append({"code": _report_code(code), "message": message})


def _report_code(code: Any) -> str | None:
    if isinstance(code, bool) or not isinstance(code, (str, int, float)):
        return None
    # Reports are stored and printed: a lone surrogate would crash the printing.
    text = str(code).replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()
    # An over-long code is itself the reason for a rejection: quote enough to find it.
    return (text[:MAX_CODE_LENGTH] + "…" if len(text) > MAX_CODE_LENGTH else text) or None


# ---------------------------------------------------------------------------- reading files


def read_json_file(path: str | Path) -> Any:
    """Parse a JSON (or JSON Lines) file, or raise ImportFileError saying where it breaks.

    :raises ImportFileError: missing, unreadable, empty, not UTF-8, not JSON or truncated.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: not UTF-8 text (invalid byte at offset {exc.start})") from exc
    if not text.strip():
        raise ImportFileError(f"{path}: the file is empty")
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ImportFileError(f"{path}: JSON nested too deeply to be an export") from exc
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            return _json_lines(path, text)
        where = f"line {exc.lineno}, column {exc.colno}"
        # Cut short, a document ends inside a string or where a value or delimiter is due.
        if not text[exc.pos :].strip() or exc.msg.startswith("Unterminated string"):
            raise ImportFileError(f"{path}: the JSON ends early at {where}; the file is truncated") from exc
        raise ImportFileError(f"{path}: not valid JSON at {where} ({exc.msg})") from exc


def _json_lines(path: Path, text: str) -> list:
    """JSON Lines: one record per line."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise ImportFileError(
                f"{path}: neither one JSON document nor JSON Lines: line {number} is not valid "
                f"JSON ({reason}); the file may be truncated"
            ) from exc
    return records


def procedure_records(data: Any, source: str) -> list:
    """The list of procedure records in an export (a list, or an object holding one).

    :raises ImportFileError: no list of records in it.
    """
    if isinstance(data, dict):
        for key in ("procedures", "data", "items", "result"):
            if isinstance(data.get(key), list):
                return data[key]
        raise ImportFileError(
            f"{source}: a JSON object without a list of procedure records "
            "(expected a list, or an object with a 'procedures' list)"
        )
    if not isinstance(data, list):
        raise ImportFileError(f"{source}: expected a list of procedure records, found {_kind(data)}")
    return data


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )


# ---------------------------------------------------------------------- parsing one record

_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+$")
_LE_PHI = re.compile(r"\ble phi\b")
_PHI = re.compile(r"(?<!\ble )\bphi\b")
_DONG = {"dong", "vnd", "d", "viet nam dong"}


class _Reader:
    """Reads the values of one record, collecting warnings about what it leaves out."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def text(self, value: Any, key: str, limit: int | None = None, *, overflow: str = "reject") -> str | None:
        """Text of a value; ``overflow`` says what a text over ``limit`` does: reject the
        record, be ``truncate``d, or be ``drop``ped (both with a warning).

        :raises RecordRejected: not text (nor a number), or too long with overflow="reject".
        """
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise RecordRejected(f"{key} must be text, found {_kind(value)}")
        value = value.replace("\x00", "")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates (from "\ud800" escapes) cannot be stored by any database.
            value = value.encode("utf-8", "replace").decode("utf-8")
            self.warn(f"{key} held invalid characters, replaced by '?'")
        value = value.strip()
        if limit and len(value) > limit:
            if overflow == "reject":
                raise RecordRejected(f"{key} is longer than {limit} characters")
            self.warn(
                f"{key} is longer than {limit} characters; "
                + ("cut short" if overflow == "truncate" else "left out")
            )
            return value[:limit].rstrip() if overflow == "truncate" else None
        return value or None

    def items(self, container: dict, key: str) -> list[dict]:
        """The objects in the list ``container[key]``; other entries are left out with a warning.

        :raises RecordRejected: the value is neither a list nor missing.
        """
        value = container.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise RecordRejected(f"{key} must be a list, found {_kind(value)}")
        objects = [item for item in value if isinstance(item, dict)]
        if len(objects) < len(value):
            self.warn(f"{key}: {len(value) - len(objects)} entries that are not objects were left out")
        return objects

    def number(self, value: Any, key: str, maximum: float = MAX_QUANTITY) -> float | None:
        """A non-negative number, or None (with a warning unless the value was simply absent).

        :raises RecordRejected: the value is a list or an object.
        """
        if value is None or value == "":
            return None
        if isinstance(value, (list, dict)):
            raise RecordRejected(f"{key} must be a number, found {_kind(value)}")
        number: float | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, (int, float)):
            number = value
        elif isinstance(value, str):
            cleaned = value.strip().replace(" ", "")
            # Vietnamese writes 10.000 for ten thousand and 1,5 for one and a half.
            cleaned = cleaned.replace(".", "") if _THOUSANDS.match(cleaned) else cleaned.replace(",", ".")
            try:
                number = float(cleaned)
            except ValueError:
                number = None
        if number is None or not math.isfinite(number):
            self.warn(f"{key} {str(value)[:40]!r} is not a number; left out")
            return None
        if number < 0:
            self.warn(f"{key} {number:g} is negative; left out")
            return None
        if number > maximum:
            self.warn(f"{key} {number:g} is implausibly large; left out")
            return None
        return number


def _fee_kind(description: str | None) -> str:
    """phí or lệ phí: what the description starts with, else lệ phí if it names one."""
    folded = fold(description)
    if folded.startswith("le phi"):
        return "le_phi"
    if folded.startswith("phi "):
        return "phi"
    if _LE_PHI.search(folded):
        return "le_phi"
    if _PHI.search(folded):
        return "phi"
    return "unspecified"


def _parse_fee(raw: dict, read: _Reader) -> dict:
    description = read.text(raw.get("MOTA"), "PHILEPHI.MOTA")
    unit_text = read.text(raw.get("DONVI"), "PHILEPHI.DONVI")
    unit = fold(unit_text)
    amount = read.number(raw.get("SOTIEN"), "PHILEPHI.SOTIEN", maximum=MAX_FEE_DONG)
    fee: dict[str, Any] = {
        "kind": _fee_kind(description),
        "amount": None,
        "currency": None,
        "description": description,
    }
    if amount is None:
        return fee
    if unit_text is None or (unit and unit in _DONG):
        # Đồng are whole numbers: money is never a float here.
        fee["amount"] = int(round(amount))
        fee["currency"] = "VND"
    elif re.fullmatch(r"[a-z]{3}", unit):
        # A foreign currency (USD at embassies): kept as stated, never converted, not payable.
        fee["currency"] = unit.upper()
        fee["foreign_amount"] = f"{amount:g}"
    else:
        read.warn(f"PHILEPHI.DONVI {unit_text!r} is not a currency; the amount {amount:g} was left out")
    return fee


def _time_unit(raw_unit: str | None, read: _Reader) -> tuple[str | None, bool]:
    """(unit, known): the unit of a processing time; unknown units are kept out of due dates."""
    folded = fold(raw_unit)
    if not folded:
        return None, True  # the source gives no unit: days, as the portal shows it
    if folded.startswith("ngay lam viec"):
        return "working_day", True
    if folded.startswith("gio"):
        return "hour", True
    if folded.startswith("ngay"):
        return "day", True
    read.warn(f"THOIGIAN.DONVITINH {raw_unit!r} is not a known unit; not used for due dates")
    return None, False


def _parse_channels(record: dict, read: _Reader) -> list[dict]:
    channels = []
    for raw in read.items(record, "CACHTHUCTHUCHIEN"):
        kenh = raw.get("KENH")
        try:
            channel = int(float(str(kenh).strip())) if not isinstance(kenh, (bool, list, dict)) else None
        except (ValueError, OverflowError):
            channel = None
        if channel not in (1, 2, 3):
            read.warn(f"CACHTHUCTHUCHIEN: unknown channel KENH={kenh!r}; left out")
            continue
        timings = []
        for t in read.items(raw, "THOIGIAN"):
            unit, known = _time_unit(read.text(t.get("DONVITINH"), "THOIGIAN.DONVITINH"), read)
            timing = {
                "amount": read.number(t.get("THOIGIANGIAIQUYET"), "THOIGIAN.THOIGIANGIAIQUYET"),
                "unit": unit,
                "description": read.text(t.get("MOTA"), "THOIGIAN.MOTA"),
                "fees": [_parse_fee(p, read) for p in read.items(t, "PHILEPHI")],
            }
            if not known:
                timing["unit_text"] = read.text(t.get("DONVITINH"), "THOIGIAN.DONVITINH")
            timings.append(timing)
        channels.append(
            {"channel": channel, "name": read.text(raw.get("TENKENH"), "TENKENH"), "timings": timings}
        )
    if not channels:
        read.warn("no usable CACHTHUCTHUCHIEN: no channel, processing time or fee is known")
    return channels


def _parse_documents(record: dict, read: _Reader) -> list[dict]:
    documents = []
    for group in read.items(record, "THANHPHANHOSO"):
        case = read.text(group.get("TRUONGHOP"), "TRUONGHOP") or ""
        for raw in read.items(group, "GIAYTO"):
            name = read.text(raw.get("TENGIAYTO"), "TENGIAYTO")
            if not name:
                read.warn("THANHPHANHOSO: a document without TENGIAYTO was left out")
                continue
            originals = int(read.number(raw.get("SOBANCHINH"), "SOBANCHINH") or 0)
            copies = int(read.number(raw.get("SOBANSAO"), "SOBANSAO") or 0)
            templates = []
            for t in read.items(raw, "MAUDON"):
                template = read.text(t.get("TENMAUDON"), "TENMAUDON")
                if template and template.lstrip(".;, "):
                    templates.append(template.lstrip(".;, "))
            # Stable across re-imports while the case and the name stay the same: dossiers
            # refer to their uploads by it.
            key = hashlib.sha1(f"{case}\x1f{name}".encode(), usedforsecurity=False).hexdigest()[:12]
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
    """Shortest stated time in working days: the online channel's when it states one (the
    portal's due dates are for dossiers filed online), else the shortest of any channel."""

    def shortest(candidates: list[dict]) -> int | None:
        days = [
            math.ceil(t["amount"] / 8) if t["unit"] == "hour" else math.ceil(t["amount"])
            for c in candidates
            for t in c["timings"]
            if t["amount"] and "unit_text" not in t
        ]
        return min(days, default=None)

    online = shortest([c for c in channels if c["channel"] == 2])
    return online if online is not None else shortest(channels)


def _parse_legal_basis(record: dict, read: _Reader) -> list[dict]:
    basis = []
    for item in read.items(record, "CANCUPHAPLY"):
        number = read.text(item.get("SOVANBAN"), "SOVANBAN")
        title = read.text(item.get("TENVANBAN"), "TENVANBAN")
        if number or title:
            basis.append({"number": number, "title": title})
    return basis


def _level(raw_level: Any) -> str:
    if raw_level is None or raw_level == "":
        return GOV_LEVELS[None]
    try:
        if isinstance(raw_level, (bool, list, dict)):
            raise ValueError
        number = float(str(raw_level).strip())
        if number != int(number):
            raise ValueError
        return GOV_LEVELS[int(number)]
    except (ValueError, KeyError, OverflowError):
        raise RecordRejected(f"CAPTHUCHIEN: unknown level of government {str(raw_level)[:40]!r}") from None


def _publisher_code(value: str | None, read: _Reader) -> str | None:
    """The level-1 code (G15) of the publishing agency, also from a whole identity code."""
    if value is None:
        read.warn("MACOQUANCONGBO is missing: the procedure is linked to no publishing agency")
        return None
    code = value.rsplit(".", 1)[-1].strip().upper()
    if not code or len(code) > 8:
        read.warn(f"MACOQUANCONGBO {value[:40]!r} is not an agency code: linked to no publishing agency")
        return None
    return code


@dataclass
class ParsedProcedure:
    code: str
    name: str
    levels: list[str]
    field_names: list[tuple[str | None, str]]
    publisher_level1: str | None
    values: dict[str, Any]
    source_hash: str
    warnings: list[str] = field(default_factory=list)


def parse_procedure(record: Any) -> ParsedProcedure:
    """Turn one export record into the catalog's shape.

    :raises RecordRejected: the record lacks its code or name, or has the wrong shape.
    """
    if not isinstance(record, dict):
        raise RecordRejected(f"the record is not a JSON object but {_kind(record)}")
    read = _Reader()
    code = read.text(record.get("MATTHC"), "MATTHC", MAX_CODE_LENGTH)
    if not code:
        raise RecordRejected("MATTHC (the procedure code) is missing")
    name = read.text(record.get("TENTTHC"), "TENTTHC", MAX_NAME_LENGTH)
    if not name:
        raise RecordRejected("TENTTHC (the procedure name) is missing")

    levels = list(
        dict.fromkeys(_level(item.get("CAPTHUCHIEN")) for item in read.items(record, "CAPTHUCHIEN"))
    )
    if not levels:
        read.warn("CAPTHUCHIEN is empty: recorded as carried out by another agency")

    field_names = []
    for item in read.items(record, "LINHVUCTHUCHIEN"):
        fname = read.text(item.get("TENLINHVUC"), "TENLINHVUC", 300, overflow="truncate")
        if fname:
            field_names.append((read.text(item.get("MALINHVUC"), "MALINHVUC", 64, overflow="drop"), fname))

    requirements = record.get("YEUCAU")
    if isinstance(requirements, list) and all(isinstance(x, str) for x in requirements):
        requirements = "\n".join(requirements)
    channels = _parse_channels(record, read)
    values = {
        "name": name,
        "decision_number": read.text(record.get("SOQUYETDINH"), "SOQUYETDINH", 200, overflow="truncate"),
        "kind": read.text(record.get("LOAITTHC"), "LOAITTHC", 300, overflow="truncate"),
        "publisher_name": read.text(
            record.get("TENCOQUANCONGBO"), "TENCOQUANCONGBO", 300, overflow="truncate"
        ),
        "requirements": read.text(requirements, "YEUCAU"),
        "source_url": read.text(record.get("URL"), "URL", 500, overflow="drop"),
        "channels": channels,
        "documents": _parse_documents(record, read),
        "steps": [
            {
                "case": read.text(group.get("TRUONGHOP"), "TRUONGHOP") or "",
                "steps": [
                    step
                    for s in read.items(group, "TRINHTU")
                    if (step := read.text(s.get("TENTRINHTU"), "TENTRINHTU"))
                ],
            }
            for group in read.items(record, "TRINHTUTHUCHIEN")
        ],
        "legal_basis": _parse_legal_basis(record, read),
        "results": [
            {"code": read.text(item.get("MAKETQUA"), "MAKETQUA"), "name": rname}
            for item in read.items(record, "KETQUATHUCHIEN")
            if (rname := read.text(item.get("TENKETQUA"), "TENKETQUA"))
        ],
        "subjects": [
            subject
            for item in read.items(record, "DOITUONGTHUCHIEN")
            if (subject := read.text(item.get("TENDOITUONG"), "TENDOITUONG"))
        ],
        "implementing_bodies": list(
            dict.fromkeys(
                body
                for item in read.items(record, "COQUANTHUCHIEN")
                if (body := read.text(item.get("TENDONVI"), "TENDONVI"))
            )
        ),
        "processing_days": _processing_days(channels),
    }
    publisher = _publisher_code(read.text(record.get("MACOQUANCONGBO"), "MACOQUANCONGBO"), read)
    try:
        # ASCII escapes keep the hash defined for texts a database would refuse.
        canonical = json.dumps(record, sort_keys=True, ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):
        raise RecordRejected("the record cannot be read as JSON") from None
    digest = hashlib.sha256(f"{IMPORTER_VERSION}\x1f{canonical}".encode()).hexdigest()
    return ParsedProcedure(
        code=code,
        name=name,
        levels=levels or [GOV_LEVELS[None]],
        field_names=field_names,
        publisher_level1=publisher,
        values=values,
        source_hash=digest,
        warnings=read.warnings,
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
        read = _Reader()
        try:
            if not isinstance(raw, dict):
                raise RecordRejected(f"the agency is not a JSON object but {_kind(raw)}")
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
        read = _Reader()
        try:
            if not isinstance(raw, dict):
                raise RecordRejected(f"the province is not a JSON object but {_kind(raw)}")
            code = read.text(raw.get("ma_dvhc"), "ma_dvhc", 8)
            name = read.text(raw.get("ten"), "ten", 200)
            if not code or not name:
                raise RecordRejected("a province needs ma_dvhc and ten")
            agency_code = read.text(raw.get("ma_dinh_danh_cap1"), "ma_dinh_danh_cap1", 32, overflow="drop")
            kind = read.text(raw.get("loai"), "loai", 32, overflow="drop")
            formed_from = raw.get("hop_nhat_tu") or []
            if not isinstance(formed_from, list):
                raise RecordRejected(f"hop_nhat_tu must be a list, found {_kind(formed_from)}")
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

    Does not commit: :func:`import_catalog` and the CLI own the transaction; on an
    exception the caller rolls back. A record that is rejected but carries a code keeps its
    procedure from being retired: it still exists at the source.

    :raises ImportFileError: agencies or provinces without their list; a full import in
        which no record could be used, which would retire the whole catalog.
    """
    report = ImportReport()
    if agencies is not None:
        import_agencies(agencies, report, source)
    if provinces is not None:
        import_provinces(provinces, report, source)
    db.session.flush()
    writer = ProcedureWriter(report)
    seen: set[str] = set()
    usable = 0
    for record in records:
        code = record.get("MATTHC") if isinstance(record, dict) else None
        try:
            parsed = parse_procedure(record)
            if parsed.code in seen:
                raise RecordRejected("the same MATTHC appears earlier in the file")
            seen.add(parsed.code)
            writer.write(parsed)
            usable += 1
        except RecordRejected as exc:
            report.reject(code, str(exc))
            if isinstance(code, (str, int)) and not isinstance(code, bool) and str(code).strip():
                seen.add(str(code).strip())
        if progress:
            progress(1)
    if usable and not writer.agencies_known:
        report.warn(
            None,
            "no agencies are known (import them with --agencies): procedures are linked to "
            "no agency and get no online service",
        )
    if full and not usable and any(k.active for k in writer.known.values()):
        raise ImportFileError(
            f"{source}: no usable procedure record ({len(report.rejected)} rejected); a full import "
            "would retire the whole catalog"
        )
    writer.finish(seen if full else None)
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

    Every file is read and parsed before the database is touched.

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
                report = import_records(
                    records,
                    full=full,
                    source=str(procedures_path),
                    agencies=agencies,
                    provinces=provinces,
                    progress=bar.update,
                )
        else:
            report = import_records(
                records, full=full, source=str(procedures_path), agencies=agencies, provinces=provinces
            )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    invalidate("catalog")
    return report
