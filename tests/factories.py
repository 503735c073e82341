"""Keyword-only factories for test data, valid by construction because it goes through the
real paths: catalog records are built in the national database's uppercase shape and
imported with the real importer, never inserted as rows.

    record = procedure_record(code="1.000001", name="Thủ tục đăng ký khai sinh", levels=(3,))
    import_procedures(record)                     # committed, catalog cache invalidated
    import_procedures(procedure_record(code="2.000001", name="...", fee=None))  # council fee
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

# CAPTHUCHIEN codes: 0 central (Bộ), 1 province, 2 district, 3 commune, None another agency.
LEVEL_NAMES = {0: "Cấp Bộ", 1: "Cấp Tỉnh", 2: "Cấp Huyện", 3: "Cấp Xã", None: "Cơ quan khác"}
CHANNEL_NAMES = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Dịch vụ bưu chính"}

# A fee set by a provincial council: no plain amount, as the national database records it.
COUNCIL_FEE = "council"


def procedure_record(
    *,
    code: str,
    name: str,
    levels: Iterable[int | None] = (0,),
    fields: Iterable[str | tuple[str | None, str]] = ("Hộ tịch",),
    online: bool = True,
    in_person: bool = True,
    fee: int | str | None = 0,
    fee_unit: str = "Đồng",
    fee_description: str = "Lệ phí",
    days: float | None = 5,
    time_unit: str | None = "Ngày làm việc",
    documents: Iterable[str | tuple[str, int, int]] = ("Tờ khai theo mẫu",),
    publisher: str | None = "G15",
    publisher_name: str | None = "Bộ Tư pháp",
    subjects: Iterable[str] = ("Công dân Việt Nam",),
    results: Iterable[str] = ("Giấy chứng nhận",),
    bodies: Iterable[str] = ("Ủy ban nhân dân cấp xã",),
    **extra: Any,
) -> dict:
    """One procedure record as the national database exports it.

    By default a central procedure of the Ministry of Justice (G15) with an online channel
    and a free fee: imported with the bundled agencies, it gets one level-4 online service
    at 000.00.00.G15. ``levels=(1,)`` or ``(3,)`` offers it at every open provincial
    committee instead.

    ``fee``: an amount in đồng (0 = free), ``COUNCIL_FEE`` for one set by a provincial
    council (level 3 online), or None for no fee row at all; ``fee_unit`` "USD" for an
    embassy fee. ``documents``: names (one original each) or (name, originals, copies).
    ``fields``: names, or (MALINHVUC, name). ``extra`` keys are set on the record as given
    (uppercase keys of the national shape), to override or to break it on purpose.
    """
    fees = []
    if fee == COUNCIL_FEE:
        fees = [
            {
                "SOTIEN": None,
                "DONVI": None,
                "MOTA": "Lệ phí: Mức thu do Hội đồng nhân dân cấp tỉnh quyết định",
            }
        ]
    elif fee is not None:
        fees = [{"SOTIEN": fee, "DONVI": fee_unit, "MOTA": fee_description}]
    timing = {"THOIGIANGIAIQUYET": days, "DONVITINH": time_unit, "PHILEPHI": fees}
    channels = [kenh for kenh, wanted in ((1, in_person), (2, online)) if wanted]
    record = {
        "MATTHC": code,
        "TENTTHC": name,
        "SOQUYETDINH": "1/QĐ-TEST",
        "LOAITTHC": "TTHC được luật giao quy định chi tiết",
        "MACOQUANCONGBO": publisher,
        "TENCOQUANCONGBO": publisher_name,
        "CAPTHUCHIEN": [
            {"CAPTHUCHIEN": None if level is None else str(level), "TENCAP": LEVEL_NAMES[level]}
            for level in levels
        ],
        "LINHVUCTHUCHIEN": [
            {"MALINHVUC": f[0], "TENLINHVUC": f[1]}
            if isinstance(f, tuple)
            else {"MALINHVUC": None, "TENLINHVUC": f}
            for f in fields
        ],
        "CACHTHUCTHUCHIEN": [
            {"KENH": str(kenh), "TENKENH": CHANNEL_NAMES[kenh], "THOIGIAN": [dict(timing)]}
            for kenh in channels
        ],
        "THANHPHANHOSO": [
            {
                "TRUONGHOP": "",
                "GIAYTO": [
                    {"TENGIAYTO": d, "SOBANCHINH": 1, "SOBANSAO": 0}
                    if isinstance(d, str)
                    else {"TENGIAYTO": d[0], "SOBANCHINH": d[1], "SOBANSAO": d[2]}
                    for d in documents
                ],
            }
        ],
        "TRINHTUTHUCHIEN": [
            {"TRUONGHOP": "", "TRINHTU": [{"TENTRINHTU": "Nộp hồ sơ."}, {"TENTRINHTU": "Nhận kết quả."}]}
        ],
        "DOITUONGTHUCHIEN": [{"TENDOITUONG": s} for s in subjects],
        "COQUANTHUCHIEN": [{"TENDONVI": b} for b in bodies],
        "KETQUATHUCHIEN": [{"MAKETQUA": None, "TENKETQUA": r} for r in results],
        "CANCUPHAPLY": [{"SOVANBAN": "1/2025/QH15", "TENVANBAN": "Luật thử nghiệm"}],
        "_SOURCE": "tests.factories",
    }
    record.update(extra)
    return record


@lru_cache(maxsize=1)
def _bundled_text(name: str) -> str:
    from services_catalog.generate import DATA_DIR

    return (DATA_DIR / name).read_text(encoding="utf-8")


def bundled_agencies() -> dict:
    """The bundled agencies document (ministries, some provinces' committees), a fresh copy."""
    return json.loads(_bundled_text("agencies.json"))


def bundled_provinces() -> dict:
    """The bundled 34-province document, a fresh copy."""
    return json.loads(_bundled_text("provinces-2025.json"))


def import_procedures(
    *records: Any,
    agencies: bool | dict = True,
    provinces: bool | dict = False,
    full: bool = False,
    commit: bool = True,
):
    """Import ``records`` with the real importer (inside an app context) and return its report.

    ``agencies``/``provinces``: True for the bundled documents, a document of your own, or
    False for none. Partial by default, so each call adds to the catalog; ``full=True``
    retires what the records lack. Commits and invalidates cached catalog reads unless
    ``commit=False``.
    """
    from portal.cache import invalidate
    from portal.extensions import db
    from services_catalog.importer import import_records

    report = import_records(
        list(records),
        full=full,
        source="tests.factories",
        agencies=bundled_agencies() if agencies is True else (agencies or None),
        provinces=bundled_provinces() if provinces is True else (provinces or None),
    )
    if commit:
        db.session.commit()
        invalidate("catalog")
    return report


def write_export(path: Path, records: Iterable[Any]) -> Path:
    """Write records as an export file (a JSON list, one record per line like the bundled one)."""
    lines = ",\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    path.write_text(f"[\n{lines}\n]\n", encoding="utf-8")
    return path
