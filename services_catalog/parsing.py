"""Turning one record of the national export into the catalog's shape (:func:`parse_procedure`).

Parsing touches no database: it gives a :class:`ParsedProcedure` with the values of the
procedure's columns, its levels, fields and publishing agency's code, the fingerprint of
its record and the warnings about what it left out; the writer decides what to store.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from services_catalog.models import GOV_LEVELS
from services_catalog.normalize import fold
from services_catalog.reading import ValueReader, kind_of
from services_catalog.report import MAX_CODE_LENGTH, RecordRejected

# Part of every procedure's fingerprint: bump it when parsing or forms change, so that the
# next import rewrites procedures whose records did not change.
IMPORTER_VERSION = "3"

MAX_NAME_LENGTH = 2000
# Beyond this a fee is a typo, and would overflow the column it feeds.
MAX_FEE_DONG = 10**13

_LE_PHI = re.compile(r"\ble phi\b")
_PHI = re.compile(r"(?<!\ble )\bphi\b")
_DONG = {"dong", "vnd", "d", "viet nam dong"}


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


def _parse_fee(raw: dict, read: ValueReader) -> dict:
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


def _time_unit(raw_unit: str | None, read: ValueReader) -> tuple[str | None, bool]:
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


def _parse_channels(record: dict, read: ValueReader) -> list[dict]:
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


def _parse_documents(record: dict, read: ValueReader) -> list[dict]:
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


def _parse_legal_basis(record: dict, read: ValueReader) -> list[dict]:
    basis = []
    for item in read.items(record, "CANCUPHAPLY"):
        number = read.text(item.get("SOVANBAN"), "SOVANBAN")
        title = read.text(item.get("TENVANBAN"), "TENVANBAN")
        if number or title:
            basis.append({"number": number, "title": title})
    return basis


def _bodies(record: dict, key: str, read: ValueReader) -> list[str]:
    """The names in a list of agencies ([{"TENDONVI"}]: COQUANTHUCHIEN, COQUANCOTHAMQUYEN,
    COQUANPHOIHOP), each once, in the record's order."""
    return list(
        dict.fromkeys(
            body for item in read.items(record, key) if (body := read.text(item.get("TENDONVI"), "TENDONVI"))
        )
    )


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


def _publisher_code(value: str | None, read: ValueReader) -> str | None:
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
        raise RecordRejected(f"the record is not a JSON object but {kind_of(record)}")
    read = ValueReader()
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
        "implementing_bodies": _bodies(record, "COQUANTHUCHIEN", read),
        "competent_bodies": _bodies(record, "COQUANCOTHAMQUYEN", read),
        "coordinating_bodies": _bodies(record, "COQUANPHOIHOP", read),
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
